import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import type { BatchConfig } from '../config/config.js';

export { DEFAULT_LOG_GROUP } from './log-group.js';
/** Most events read from one stream (a crashed job's story is at its end). */
const MAX_EVENTS = 10_000;

/** Where one attempt's container output went: recorded per attempt, so `flow logs` can read it after the fact. */
export interface LogStreamRef {
  group: string;
  stream: string;
  region?: string;
}

/** A CloudWatch Logs client for the Batch region (a custom batch.endpoint serves both APIs). */
export function logsClient(config: BatchConfig | undefined): CloudWatchLogsClient {
  return new CloudWatchLogsClient({
    region: config?.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(config?.endpoint ? { endpoint: config.endpoint } : {}),
  });
}

/**
 * The text of a log stream (one line per event), from the start; undefined when the stream does
 * not exist (yet: the awslogs driver creates it when the container starts).
 */
export async function readLogStream(client: CloudWatchLogsClient, ref: LogStreamRef, from?: string): Promise<{ text: string; next: string } | undefined> {
  let text = '';
  let token = from;
  let events = 0;
  try {
    for (;;) {
      const page = await client.send(new GetLogEventsCommand({ logGroupName: ref.group, logStreamName: ref.stream, startFromHead: true, ...(token ? { nextToken: token } : {}) }));
      for (const e of page.events ?? []) text += `${e.message ?? ''}\n`;
      events += page.events?.length ?? 0;
      // The forward token repeats when the end is reached (AWS's documented stop condition).
      if (!page.nextForwardToken || page.nextForwardToken === token || (page.events?.length ?? 0) === 0 || events >= MAX_EVENTS) return { text, next: page.nextForwardToken ?? token ?? '' };
      token = page.nextForwardToken;
    }
  } catch (e) {
    if ((e as { name?: string }).name === 'ResourceNotFoundException') return undefined;
    throw e;
  }
}

/** A job's own account of why it stopped: the last `flowrun-error: {json}` line its loader or bootstrap printed. */
export interface JobError {
  code: string;
  message: string;
  fix?: string;
  exitCode: number;
}

export function jobErrorIn(text: string): JobError | undefined {
  const lines = text.split('\n').filter((l) => l.startsWith('flowrun-error: '));
  const last = lines.at(-1);
  if (!last) return undefined;
  try {
    const e = JSON.parse(last.slice('flowrun-error: '.length)) as Partial<JobError>;
    if (typeof e.code === 'string' && typeof e.message === 'string' && typeof e.exitCode === 'number') return { code: e.code, message: e.message, fix: e.fix, exitCode: e.exitCode };
  } catch {
    /* a line the task printed, not ours */
  }
  return undefined;
}
