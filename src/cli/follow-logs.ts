import { openProjectStore } from '../client/client.js';
import { loadConfig } from '../config/config.js';
import { UsageError } from '../errors/index.js';
import { followTaskLogs } from '../batch/task-logs.js';

/** The command's --follow: the task of RUN/STEP/TASK in the project of the working directory. */
export async function followLogsCommand(p: { run: string; step?: string; task?: string }, show: { stdout: boolean; stderr: boolean }): Promise<void> {
  if (!p.step || !p.task) throw new UsageError('LOGS_FOLLOW_TASK', '--follow needs one task: RUN/STEP/TASK.', { fix: 'flow logs run-4/train/0 --follow' });
  const config = loadConfig(process.cwd());
  const local = openProjectStore(config);
  const write = (stream: 'stdout' | 'stderr', text: string) => {
    if (show[stream]) (stream === 'stdout' ? process.stdout : process.stderr).write(text);
  };
  if (!(await followTaskLogs({ config, local, run: p.run, step: p.step, task: p.task, write }))) {
    throw new UsageError('LOGS_FOLLOW_NO_STORE', "--follow reads a running Batch task's output from the S3 store, but this project has none configured.", { fix: 'Configure "mirror": { "url": "s3://..." } (or an s3:// store) in .flowrc.' });
  }
}
