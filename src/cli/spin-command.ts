import './backends.js';
import { openProjectStore } from '../client/client.js';
import { loadConfig } from '../config/config.js';
import { ExitCode, UsageError } from '../errors/index.js';
import type { SpinRecord } from '../metadata/spin-records.js';
import { spinTask } from '../replay/spin.js';
import { PATH_DISPLAY_MAX, displayText, displayValue as v } from '../util/terminal.js';

const MARK = { same: '=', changed: '~', added: '+', removed: '-' } as const;

/** `--inspect-brk[=[host:]port]` as Node reads it; the inspector listens on loopback unless told otherwise. */
export function parseInspect(value: string | undefined): { host: string; port: number } | undefined {
  if (value === undefined) return undefined;
  const m = /^(?:(\[[^\]]+\]|[^:]+):)?(\d+)$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) {
    throw new UsageError('SPIN_INSPECT', `--inspect-brk=${value} is not a port or host:port.`, { fix: 'Write --inspect-brk (127.0.0.1:9229), --inspect-brk=9230 or --inspect-brk=127.0.0.1:9230.' });
  }
  return { host: (m[1] ?? '127.0.0.1').replace(/^\[|\]$/g, ''), port };
}

/** Bare `--inspect-brk` (no value) means Node's default, 127.0.0.1:9229. */
export function normalizeInspectArgv(argv: readonly string[]): string[] {
  return argv.map((a) => (a === '--inspect-brk' ? '--inspect-brk=127.0.0.1:9229' : a));
}

export async function startSpin(o: { target: string; inspect?: string; quiet: boolean; json: boolean; log: (line: string) => void }): Promise<{ exitCode: number; record: SpinRecord }> {
  const config = loadConfig(process.cwd());
  const store = openProjectStore(config);
  const err = (line: string) => {
    if (!o.quiet) process.stderr.write(`${line}\n`);
  };
  let prefix = '';
  const partial = { stdout: '', stderr: '' };
  const record = await spinTask({
    config,
    store,
    target: o.target,
    inspect: parseInspect(o.inspect),
    info: err,
    onStart: (spin) => {
      prefix = `[${spin.id}/${spin.of.step}/${spin.of.task}] `;
      if (!o.json) process.stdout.write(`${spin.id}\n`);
      err(`${spin.id}: rerunning ${spin.of.run}/${spin.of.step}/${spin.of.task} (${v(spin.flow)}) with the current code of ${v(spin.file, PATH_DISPLAY_MAX)}, on the inputs ${spin.of.run} recorded`);
    },
    onOutput: o.quiet
      ? undefined
      : (stream, text) => {
          const lines = (partial[stream] + text).split('\n');
          partial[stream] = lines.pop()!;
          if (lines.length) (stream === 'stdout' && !o.json ? process.stdout : process.stderr).write(`${lines.map((l) => prefix + l).join('\n')}\n`);
        },
    onInspector: (url) => process.stderr.write(`${prefix.trim()} waiting for a debugger at ${url}\n  Attach one (VS Code: "Attach to Node Process" or a launch config with "port"; Chrome: chrome://inspect). It stops just before the step is called: step into the call to enter it.\n`),
  });
  for (const stream of ['stdout', 'stderr'] as const) if (partial[stream]) (stream === 'stdout' && !o.json ? process.stdout : process.stderr).write(`${prefix}${partial[stream]}\n`);
  if (!o.quiet || record.status !== 'ok') for (const line of renderSpin(record)) o.log(line);
  return { exitCode: record.status === 'ok' ? ExitCode.ok : record.error?.code === 'TASK_INTERRUPTED' ? ExitCode.interrupted : ExitCode.runFailed, record };
}

/** The spin's result against the recorded task: what changed, then a count of what did not. */
export function renderSpin(s: SpinRecord): string[] {
  const task = `${s.of.step}/${s.of.task}`;
  const secs = ((s.attempt?.durationMs ?? 0) / 1000).toFixed(1);
  if (s.status !== 'ok') {
    const e = s.error;
    return [`${s.id}: ${task} failed after ${secs}s${e ? `: ${v(e.code)}: ${displayText(e.message)}` : ''}`, ...(e?.fix ? [`  Fix: ${displayText(e.fix)}`] : []), `  (${s.of.run}/${task} is unchanged; rerun with flow spin ${s.of.run}/${task})`];
  }
  const checks = s.checks ?? [];
  const count = (st: keyof typeof MARK) => checks.filter((c) => c.status === st).length;
  const differ = checks.length - count('same');
  const head = `${s.id}: ${task} ok in ${secs}s; against ${s.of.run}/${task}: ${
    differ === 0
      ? `every artifact is the same (${checks.length})`
      : `${[
          ['changed', count('changed')],
          ['added', count('added')],
          ['removed', count('removed')],
        ]
          .filter(([, n]) => n)
          .map(([w, n]) => `${n} ${w}`)
          .join(', ')}, ${count('same')} the same`
  }`;
  return [head, ...checks.filter((c) => c.status !== 'same').map((c) => `  ${MARK[c.status]} ${v(c.artifact)}${c.detail ? `: ${v(c.detail, PATH_DISPLAY_MAX)}` : ''}`)];
}
