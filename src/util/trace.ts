import { appendFileSync } from 'node:fs';

/**
 * FLOW_TRACE=FILE: each mark appends "<epoch ms> <pid> <CPU ms of the process> <label>" to FILE,
 * so the timeline of a run's processes (the CLI and its workers) can be put side by side; the
 * first mark of a process also records when the process started. Nothing happens without it.
 */
const traceFile = process.env.FLOW_TRACE;
let started = false;

export function traceMark(label: string): void {
  if (!traceFile) return;
  const cpu = process.cpuUsage();
  const line = (at: number, what: string) => `${at.toFixed(1)} ${process.pid} ${((cpu.user + cpu.system) / 1000).toFixed(1)} ${what}\n`;
  if (!started) {
    started = true;
    appendFileSync(traceFile, line(performance.timeOrigin, 'process start'));
  }
  appendFileSync(traceFile, line(performance.timeOrigin + performance.now(), label));
}
