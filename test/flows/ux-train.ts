import { FlowSpec, current, includeFile, param, retry, step, type Inputs } from 'flowrun';

/**
 * A small regression flow as a data scientist writes one (a CSV input, a shuffle, a branch, a
 * foreach over folds, @retry on a step whose random draw can fail it), printing its run context.
 * `failFold` fails one fold (resume tests); UX_NOISE, when set, leaks into `end` (a replay with
 * another value diverges).
 */
export default class UxTrainFlow extends FlowSpec {
  @param({ help: 'learning rate' }) alpha = 0.5;
  @param({ help: 'fold whose fit throws (-1: none)' }) failFold = -1;
  @param({ help: 'a fit attempt whose first draw is below this fails (retried)' }) failBelow = 0;
  @includeFile({ help: 'training rows (CSV with a header)' }) data = 'data/rows.csv';

  rows!: number[];
  shuffled!: number[];
  folds!: number[];
  mean!: number;
  draw!: number;
  score!: number;
  scores!: number[];
  best!: number;
  noise!: string;

  @step start() {
    this.rows = this.data.trim().split('\n').slice(1).map(Number);
    console.log(`ctx ${JSON.stringify({ ...contextOf(), pathspec: current.pathspec, isRunningFlow: current.isRunningFlow, namespace: current.namespace })}`);
    this.next(this.shuffle, this.baseline);
  }

  @step shuffle() {
    this.shuffled = [...this.rows].sort(() => Math.random() - 0.5).map((x) => x * 1);
    this.folds = [0, 1, 2, 3];
    this.next(this.fit, { foreach: 'folds' });
  }

  @retry({ times: 3 })
  @step fit() {
    const fold = this.input as number;
    this.draw = Math.random();
    console.log(`fit ${fold} attempt ${current.attempt} draw ${this.draw} seed ${current.taskSeed}`);
    if (this.draw < this.failBelow) throw new Error(`unlucky draw ${this.draw} for fold ${fold}`);
    if (fold === this.failFold) throw new Error(`fold ${fold} is broken`);
    this.score = this.shuffled.filter((_, i) => i % 4 === fold).reduce((a, x) => a + x * this.alpha, 0);
    this.next(this.gather);
  }

  @step gather(inputs: Inputs<UxTrainFlow>) {
    this.scores = inputs.map((i) => i.score);
    this.next(this.merge);
  }

  @step baseline() {
    this.mean = this.rows.reduce((a, x) => a + x, 0) / this.rows.length;
    this.next(this.merge);
  }

  @step merge(inputs: Inputs<UxTrainFlow>) {
    this.mergeArtifacts(inputs, { include: ['scores', 'mean', 'rows'] });
    this.best = Math.max(...this.scores);
    this.next(this.end);
  }

  @step end() {
    this.noise = process.env.UX_NOISE ?? '';
    console.log(`end ${current.runId} best ${this.best}`);
  }
}

function contextOf() {
  const { flowName, runId, stepName, taskId, attempt, seed, tags, username, originRunId, replayOf, isReplay, isWhatIf } = current;
  return { flowName, runId, stepName, taskId, attempt, seed, tags, username, originRunId: originRunId ?? null, replayOf: replayOf ?? null, isReplay, isWhatIf };
}
