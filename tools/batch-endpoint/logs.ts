/**
 * CloudWatch Logs, as much of it as flowrun reads: log groups of streams of events, filled live
 * with each job attempt's output (one event per line, as the awslogs driver sends it), and
 * GetLogEvents with its forward tokens. Served on the endpoint's root path in the awsJson1.1
 * protocol (`X-Amz-Target: Logs_20140328.<Operation>`), as @aws-sdk/client-cloudwatch-logs sends it.
 */
import { BatchApiError } from './emulator.js';

export interface LogEvent {
  timestamp: number;
  message: string;
  ingestionTime: number;
}

/** Events kept per stream (CloudWatch keeps everything; a local endpoint keeps the recent ones). */
const MAX_EVENTS = 20_000;
const PAGE = 1000;

export class LogStore {
  private readonly groups = new Map<string, Map<string, LogEvent[]>>();
  private readonly partial = new Map<string, string>();

  /** Creates the stream (as the awslogs driver does when the container starts). */
  open(group: string, stream: string): void {
    const g = this.groups.get(group) ?? new Map<string, LogEvent[]>();
    this.groups.set(group, g);
    if (!g.has(stream)) g.set(stream, []);
  }

  /** Appends output; complete lines become events, a trailing partial line waits for the rest (or close). */
  append(group: string, stream: string, text: string): void {
    const key = `${group}\0${stream}`;
    const lines = ((this.partial.get(key) ?? '') + text).split('\n');
    this.partial.set(key, lines.pop()!);
    for (const line of lines) this.push(group, stream, line);
  }

  close(group: string, stream: string): void {
    const key = `${group}\0${stream}`;
    const rest = this.partial.get(key);
    if (rest) this.push(group, stream, rest);
    this.partial.delete(key);
  }

  /** Every message of a stream joined by newlines (tests, the admin API). */
  text(stream: string): string | undefined {
    for (const g of this.groups.values()) {
      const events = g.get(stream);
      if (events) return events.map((e) => `${e.message}\n`).join('');
    }
    return undefined;
  }

  getLogEvents(i: Record<string, unknown>): { events: LogEvent[]; nextForwardToken: string; nextBackwardToken: string } {
    const group = typeof i.logGroupName === 'string' ? i.logGroupName : '';
    const stream = typeof i.logStreamName === 'string' ? i.logStreamName : '';
    const events = this.groups.get(group)?.get(stream);
    if (!events) throw new BatchApiError('ResourceNotFoundException', `The specified log ${this.groups.has(group) ? 'stream' : 'group'} does not exist.`);
    const limit = typeof i.limit === 'number' ? Math.min(i.limit, 10_000) : PAGE;
    const token = typeof i.nextToken === 'string' ? /^f\/(\d+)$/.exec(i.nextToken) : null;
    const from = token ? Number(token[1]) : i.startFromHead === true ? 0 : Math.max(0, events.length - limit);
    const page = events.slice(from, from + limit);
    return { events: page, nextForwardToken: `f/${from + page.length}`, nextBackwardToken: `b/${from}` };
  }

  private push(group: string, stream: string, message: string): void {
    const events = this.groups.get(group)?.get(stream);
    if (!events) return;
    const now = Date.now();
    events.push({ timestamp: now, message, ingestionTime: now });
    if (events.length > MAX_EVENTS) events.splice(0, events.length - MAX_EVENTS);
  }
}
