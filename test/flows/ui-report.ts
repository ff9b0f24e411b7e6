import { FlowSpec, step, param, card, currentCard, Markdown, Table, Image, VegaChart, Artifact, type Inputs } from 'flowrun';

// A 2×2 PNG, so the image viewers have real image bytes to show.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP4z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==', 'base64');

/** Everything the UI has a viewer for, plus hostile values that must never run as script. */
export default class UiReportFlow extends FlowSpec {
  @param({ help: 'learning rate' }) alpha = 0.1;

  models!: string[];
  score!: number;
  leaderboard!: Array<{ model: string; score: number; rank: number }>;
  notes!: string;
  chart!: Buffer;
  hostileHtml!: string;
  hostileSvg!: Buffer;
  hostileRows!: Array<{ name: string; value: string }>;
  config!: { layers: number[]; name: string; nested: { deep: boolean } };

  @step start() {
    console.log(`starting with alpha=${this.alpha}`);
    this.models = ['linear', 'forest', 'boosted'];
    this.next(this.train, { foreach: 'models' });
  }

  @step train() {
    console.log(`training ${this.input} (split ${this.index})`);
    console.error(`stderr line from ${this.input}`);
    this.score = Math.round(1000 * (this.index + 1) * this.alpha) / 1000;
    this.next(this.join);
  }

  @card({ title: 'Leaderboard' })
  @step join(inputs: Inputs<UiReportFlow>) {
    const names = ['linear', 'forest', 'boosted'];
    this.leaderboard = inputs.map((i, n) => ({ model: names[n]!, score: i.score, rank: 0 }))
      .sort((a, b) => b.score - a.score).map((r, n) => ({ ...r, rank: n + 1 }));
    console.log(`best: ${this.leaderboard[0]!.model}`);
    currentCard.append(new Markdown(`# Results\n\nBest model: **${this.leaderboard[0]!.model}** <script>window.top.__pwned=7</script>`));
    currentCard.append(new Table(this.leaderboard, { title: 'Scores' }));
    currentCard.append(new VegaChart({
      data: { values: this.leaderboard },
      mark: 'bar',
      encoding: { x: { field: 'model', type: 'nominal' }, y: { field: 'score', type: 'quantitative' } },
    }, { title: 'Score by model' }));
    currentCard.append(new Image(PNG, { title: 'A tiny image' }));
    currentCard.append(new Image(Buffer.from('not an image') as Uint8Array));
    currentCard.append(new Artifact('leaderboard', { title: 'The leaderboard artifact' }));
    this.next(this.report);
  }

  @step report() {
    this.notes = 'Plain text <b>not bold</b>';
    this.chart = PNG;
    this.hostileHtml = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>';
    this.hostileSvg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40" onload="window.top.__pwned=3"><script>window.top.__pwned=4</script><rect width="40" height="40" fill="orange"/></svg>');
    this.hostileRows = [{ name: '<script>window.__pwned=5</script>', value: '<img src=x onerror="window.__pwned=6">' }];
    this.config = { layers: [64, 32, 1], name: 'mlp', nested: { deep: true } };
    // No @card here: appending is enough. A part that cannot be stored fails the card, never the task.
    currentCard.append(new Markdown('Hostile values, shown as text:'));
    currentCard.append(new Artifact('hostileHtml'));
    currentCard.append(new Artifact('hostileSvg'));
    currentCard.append(new Table([{ get broken(): number { throw new Error('getter exploded'); } }]));
    this.next(this.end);
  }

  @step end() {}
}
