/**
 * Running the git CLI. Commands started in the same turn of the event loop (a run's capture and
 * file listing start six at once) go to one `sh` process that runs them in parallel, each
 * writing its output to a file of a private temp directory: spawning from Node costs the
 * orchestrator a fork of its whole address space per process (about 7 ms of its CPU each on the
 * project's 2-core machine, 40-50 ms for the six), while sh forks cheaply (issue #18: the six
 * took ~100 ms instead of ~160-330 ms there). Without sh (Windows), or for a command that reads
 * stdin, each command is its own process, as before.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** No git binary on PATH. */
export class GitMissing extends Error {}
/** git declined to read the repo (safe.directory ownership check); isomorphic-git runs no hooks, so it may. */
export class GitRefused extends Error {}
/** A git command failed unexpectedly. */
export class GitCommandFailed extends Error {
  constructor(
    readonly args: string[],
    readonly code: number,
    readonly stderr: string,
  ) {
    super(`git ${args.join(' ')} exited ${code}: ${stderr.trim().split('\n').slice(0, 3).join(' ')}`);
  }
}

export interface GitRun {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/** Variables that point git at some other repo or index; a git hook running `flow` sets them. */
const LOCAL_ENV_VARS = [
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_CONFIG',
  'GIT_CONFIG_PARAMETERS',
  'GIT_CONFIG_COUNT',
  'GIT_OBJECT_DIRECTORY',
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_IMPLICIT_WORK_TREE',
  'GIT_GRAFT_FILE',
  'GIT_INDEX_FILE',
  'GIT_NO_REPLACE_OBJECTS',
  'GIT_REPLACE_REF_BASE',
  'GIT_PREFIX',
  'GIT_SHALLOW_FILE',
  'GIT_COMMON_DIR',
  'GIT_EXTERNAL_DIFF',
  'GIT_DIFF_OPTS',
];

function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of LOCAL_ENV_VARS) delete env[k];
  // LC_ALL=C: error messages we match on ("not a git repository") stay English. Optional locks
  // off: status must not rewrite .git/index, which would race with the user's own git commands.
  return { ...env, LC_ALL: 'C', GIT_OPTIONAL_LOCKS: '0', GIT_TERMINAL_PROMPT: '0', ...extra };
}

/**
 * Settings that make output parseable and patches appliable whatever the user's config says:
 * raw UTF-8 paths, no colour, a/ b/ prefixes, repo-relative paths, blank context lines kept.
 */
const GIT_CONFIG_ARGS = ['-c', 'core.quotepath=off', '-c', 'color.ui=false', '-c', 'status.relativePaths=false', '-c', 'diff.noprefix=false', '-c', 'diff.mnemonicPrefix=false', '-c', 'diff.relative=false', '-c', 'diff.suppressBlankEmpty=false', '-c', 'core.pager=cat'];

const MAX_BUFFER = 2 ** 30;

interface Queued {
  args: string[];
  resolve: (r: GitRun) => void;
  reject: (e: unknown) => void;
}

/** Commands waiting for this turn's batch, by working directory. */
const queued = new Map<string, Queued[]>();
let batchScheduled = false;
/** Set when sh cannot be started: every later command runs on its own. */
let noShell = process.platform === 'win32';

export function runGit(cwd: string, args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<GitRun> {
  if (opts.input !== undefined || opts.env !== undefined || noShell) return runOne(cwd, args, opts);
  return new Promise((resolve, reject) => {
    const list = queued.get(cwd) ?? [];
    list.push({ args, resolve, reject });
    queued.set(cwd, list);
    if (!batchScheduled) {
      batchScheduled = true;
      // After this turn's I/O callbacks: the capture and the file listing each await a stat first.
      setImmediate(flushBatches);
    }
  });
}

function flushBatches(): void {
  batchScheduled = false;
  const batches = [...queued];
  queued.clear();
  for (const [cwd, list] of batches) {
    if (list.length === 1) runOne(cwd, list[0]!.args).then(list[0]!.resolve, list[0]!.reject);
    else runBatch(cwd, list);
  }
}

/** One `sh` running every command of the batch in parallel; each result read from its files. */
function runBatch(cwd: string, list: Queued[]): void {
  const dir = mkdtempSync(join(tmpdir(), 'flowrun-git-'));
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const file = (i: number, ext: string) => quote(join(dir, `${i}.${ext}`));
  // Each git is a direct child of sh (no subshell per command: a fork less each); `wait PID`
  // gives its exit status, which sh keeps for a child that ended before the wait.
  const start = list.map((q, i) => `${['git', ...GIT_CONFIG_ARGS, ...q.args].map(quote).join(' ')} >${file(i, 'out')} 2>${file(i, 'err')} </dev/null & p${i}=$!`);
  const collect = list.map((_, i) => `wait $p${i}; echo $? >${file(i, 'code')}`);
  execFile('sh', ['-c', [...start, ...collect].join('\n')], { cwd, env: gitEnv(), windowsHide: true }, (err) => {
    try {
      const spawnError = err && typeof (err as NodeJS.ErrnoException).code === 'string' ? (err as NodeJS.ErrnoException) : undefined;
      if (spawnError?.code === 'ENOENT') {
        // No sh after all: run them one by one from now on.
        noShell = true;
        for (const q of list) runOne(cwd, q.args).then(q.resolve, q.reject);
        return;
      }
      if (spawnError) {
        for (const q of list) q.reject(spawnError); // sh could not start (EAGAIN, EMFILE): as git itself could not
        return;
      }
      list.forEach((q, i) => {
        try {
          q.resolve(result(dir, i));
        } catch (e) {
          q.reject(e);
        }
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** What command `i` of a batch left in `dir`, as runOne reports it. */
function result(dir: string, i: number): GitRun {
  const read = (ext: string) => {
    try {
      return readFileSync(join(dir, `${i}.${ext}`));
    } catch {
      return Buffer.alloc(0);
    }
  };
  const stdout = read('out');
  const stderr = read('err').toString('utf8');
  const code = Number(read('code').toString('utf8').trim() || '1');
  // sh reports a command it cannot find as 127 ("git: not found").
  if (code === 127 && /not found/i.test(stderr)) throw new GitMissing('git is not on PATH');
  if (code !== 0 && /dubious ownership/i.test(stderr)) throw new GitRefused(stderr.trim());
  if (stdout.byteLength > MAX_BUFFER) throw new Error(`git output over ${MAX_BUFFER} bytes`);
  return { code, stdout, stderr };
}

function runOne(cwd: string, args: string[], opts: { input?: string; env?: Record<string, string> } = {}): Promise<GitRun> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile('git', [...GIT_CONFIG_ARGS, ...args], { cwd, env: gitEnv(opts.env), encoding: 'buffer', maxBuffer: MAX_BUFFER, windowsHide: true }, (err, stdout, stderr) => {
      if (err && typeof err.code === 'string') {
        reject(err.code === 'ENOENT' ? new GitMissing('git is not on PATH') : err);
        return;
      }
      const stderrText = stderr.toString('utf8');
      if (err && /dubious ownership/i.test(stderrText)) {
        reject(new GitRefused(stderrText.trim()));
        return;
      }
      resolvePromise({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr: stderrText });
    });
    child.stdin?.on('error', () => {
      /* git may exit before reading all input; its exit code reports the failure */
    });
    child.stdin?.end(opts.input ?? '');
  });
}
