import { setTimeout as sleep } from 'node:timers/promises';
import { type FlowConfig, loadConfig } from '../config/config.js';
import { mirrorLocation } from '../mirror/mirror.js';
import { type TaskRecord, taskRecordPath } from '../metadata/records.js';
import type { SyncStore } from '../store/types.js';
import type { S3Store } from '../store/s3.js';
import { type LiveLogRecord, liveLogPath } from './payload.js';

/**
 * The container output of a task's last attempt from CloudWatch, when the task died before it
 * could upload its own (out of memory, a bootstrap failure, a vanished host): the stream name is
 * on the attempt record. Undefined when the attempt uploaded its output or ran locally.
 */
export async function crashedTaskLog(record: TaskRecord, config: FlowConfig, attempt?: number): Promise<{ stream: string; text: string } | undefined> {
  const remote = attemptOf(record, attempt)?.remote;
  if (!remote || remote.uploaded || !remote.logStream) return undefined;
  const { logsClient, readLogStream } = await import('./logs.js');
  const client = logsClient({ ...config.batch, ...(remote.region ? { region: remote.region } : {}) });
  try {
    const log = await readLogStream(client, { group: remote.logGroup ?? '/aws/batch/job', stream: remote.logStream });
    return { stream: `${remote.logGroup}/${remote.logStream}`, text: log?.text ?? '' };
  } finally {
    client.destroy();
  }
}

/**
 * `flow logs RUN/STEP/TASK --follow`: prints a Batch task's output as it uploads it (every few
 * seconds, chunk by chunk, from the S3 store), from its latest attempt, until the task ends (its
 * record is written here, or its last upload is marked done). Returns false when there is no S3
 * store to follow in.
 */
export async function followTaskLogs(o: { config: FlowConfig; local: SyncStore; run: string; step: string; task: string; write: (stream: 'stdout' | 'stderr', text: string) => void; pollMs?: number }): Promise<boolean> {
  const location = mirrorLocation(o.config);
  if (!location) return false;
  const { S3Store: Store } = await import('../store/s3.js');
  const store = new Store(location);
  const printed = new Map<number, number>();
  try {
    for (;;) {
      const record = o.local.readRecordSync<TaskRecord>(taskRecordPath(o.run, o.step, o.task));
      const done = record !== undefined;
      const live = await latestLive(store, o.run, o.step, o.task);
      if (live) {
        const from = printed.get(live.attempt) ?? 0;
        for (const chunk of live.chunks.slice(from)) o.write(chunk.stream, (await store.getObject(chunk.hash)).toString('utf8'));
        printed.set(live.attempt, live.chunks.length);
      }
      if (done && printed.size === 0) {
        // A task that ran locally, or ended before its first upload: its stored logs are the whole story.
        o.write('stdout', o.local.getObjectSync(record.logs.stdout).toString('utf8'));
        o.write('stderr', o.local.getObjectSync(record.logs.stderr).toString('utf8'));
      }
      if (done || live?.done) return true;
      await sleep(o.pollMs ?? 1000);
    }
  } finally {
    store.client.destroy();
  }
}

async function latestLive(store: S3Store, run: string, step: string, task: string): Promise<LiveLogRecord | undefined> {
  const names = await store.listRecords(`batch/${run}/${step}`);
  const attempts = names
    .map((n) => new RegExp(`^${task.replace(/\./g, '\\.')}\\.(\\d+)\\.live\\.json$`).exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]));
  if (attempts.length === 0) return undefined;
  return store.readRecord<LiveLogRecord>(liveLogPath(run, step, task, Math.max(...attempts)));
}

/** A task's logs, with the CloudWatch output of an attempt that died before uploading its own (stderr, with where it came from). */
export async function crashedLogsOf(record: TaskRecord, logs: { stdout: string; stderr: string }, attempt?: number): Promise<{ stdout: string; stderr: string }> {
  const remote = attemptOf(record, attempt)?.remote;
  if (!remote || remote.uploaded) return logs;
  const found = await crashedTaskLog(record, loadConfig(process.cwd()), attempt).catch((e: Error) => ({ stream: '', text: `(the job's CloudWatch log could not be read: ${e.message})\n` }));
  if (!found) return logs;
  return { stdout: logs.stdout, stderr: `${logs.stderr}${found.stream ? `--- the job's container output (CloudWatch ${found.stream}); the task died before uploading its own ---\n` : ''}${found.text}` };
}

/** The attempt `flow logs --attempt N` names (default: the last). */
function attemptOf(record: TaskRecord, attempt: number | undefined): TaskRecord['attempts'][number] | undefined {
  return attempt === undefined ? record.attempts.at(-1) : record.attempts.find((a) => a.attempt === attempt);
}
