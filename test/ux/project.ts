import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, tempProject } from '../helpers/cli.js';

/** The CSV the ux-train flow reads (committed with it). */
export const ROWS = 'y\n1\n2\n3\n4\n5\n6\n7\n8\n';

/** A committed project holding test/flows/ux-train.ts and its data, as a user has it. */
export function uxProject(): Promise<string> {
  return tempProject({ 'flows/ux-train.ts': readFileSync(join(REPO, 'test/flows/ux-train.ts'), 'utf8'), 'data/rows.csv': ROWS });
}

export const FLOW_FILE = 'flows/ux-train.ts';
export const runIdOf = (stdout: string) => stdout.split('\n')[0]!.trim();
export const recordOf = <T = Record<string, unknown>>(dir: string, id: string): T => JSON.parse(readFileSync(join(dir, '.flow/runs', id, 'run.json'), 'utf8')) as T;
