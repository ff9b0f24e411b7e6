/** The JSON shapes of the server's API (src/ui/model/*), as the pages read them. */
export interface Verdict {
  reproduced: boolean;
  artifacts: { reproduced: number; diverged: number; missing: number };
  firstDivergence?: { step: string; task: string; artifact: string; kind: string };
}

export interface RunRow {
  id: string;
  flow: string;
  status: string;
  started: string;
  durationMs?: number;
  commit: string | null;
  dirty: boolean | null;
  tags: string[];
  user?: string;
  replayOf?: string;
  verdict?: Verdict;
  origin?: string;
  steps: number;
  tasks?: number;
}

export interface RunsModel {
  source: 'local' | 'mirror';
  location: string;
  total: number;
  matched: number;
  rows: RunRow[];
  facets: { flows: string[]; statuses: string[]; tags: string[]; users: string[] };
  live: boolean;
}

export interface ErrorJson {
  code: string;
  message: string;
  fix?: string;
  step?: string;
  task?: string;
}

export interface RunRecord {
  id: string;
  flow: string;
  file: string;
  status: string;
  params: Record<string, unknown>;
  seed: number;
  tags: string[];
  started: string;
  finished?: string;
  durationMs?: number;
  host: string;
  flowrunVersion: string;
  node: string;
  steps: Array<{ name: string; type: string }>;
  git: { commit: string | null; branch?: string | null; dirty: boolean; patch?: string; remote?: string | null } | null;
  code?: { hash: string; files: number; bytes: number };
  env?: { node: string; flowrun: string; os: string; arch: string; lockfile: { name: string; hash: string } | null };
  envLocks?: Record<string, string | null>;
  stepEnvs?: Record<string, { kind: string; spec: { packages: Record<string, string> }; lock: string }>;
  condaEnvs?: Record<string, { kind: string; spec: { packages: Record<string, string> }; lock: string }>;
  includes?: Record<string, { path: string; hash: string; size: number }>;
  replayOf?: string;
  verdict?: Verdict;
  origin?: { run: string; step: string };
  error?: ErrorJson;
  user?: unknown;
  cache?: { steps: string[]; lookups: number; local: number; remote: number; filled: number };
}

export interface DagNode {
  name: string;
  type: string;
  foreach?: string;
  doc?: string;
  decorators: string[];
  line?: number;
  state: string;
  tasks: number;
  ok: number;
  failed: number;
  running: number;
  expected?: number;
  cached?: number;
}

export interface LiveTask {
  step: string;
  id: string;
  attempt: number;
  started: string;
}

export interface RunModel {
  record: RunRecord;
  dag: { nodes: DagNode[]; edges: Array<{ from: string; to: string; foreach?: boolean }>; source: string };
  running: LiveTask[];
  tasks: number;
}

export interface TimelineModel {
  start: string;
  span: number;
  steps: string[];
  tasks: Array<[number, string, 0 | 1, Array<[number, number, 0 | 1]>]>;
  running: Array<[number, string, number, number]>;
  live: boolean;
}

export interface Attempt {
  attempt: number;
  started: string;
  finished: string;
  durationMs: number;
  status: string;
  error?: ErrorJson;
  logsKept: boolean;
}

export interface CardRef {
  id: string;
  hash: string;
  title?: string;
  errors?: number;
}

export interface TaskModel {
  run: { id: string; flow: string; status: string };
  step: string;
  id: string;
  record?: { status: string; parents: string[]; stack: Array<{ step: string; index: number; count: number }>; caught?: ErrorJson; clonedFrom?: string; cachedFrom?: string; next?: { targets: string[]; foreach?: string; count?: number } };
  live?: LiveTask;
  artifacts: Array<{ name: string; hash: string; size: number; inherited: boolean }>;
  attempts: Attempt[];
  cards: CardRef[];
  code?: { file: string; line: number; endLine: number; text: string };
}

export type Cell = string | number | boolean | null;
export type ArtifactView =
  | { kind: 'scalar'; type: string; text: string }
  | { kind: 'text'; text: string; length: number; truncated: boolean }
  | { kind: 'image'; mime: string; bytes: number }
  | { kind: 'table'; columns: string[]; rows: Cell[][]; totalRows: number; truncated: boolean }
  | { kind: 'json'; type: string; value: unknown; truncated: boolean }
  | { kind: 'binary'; type: string; bytes: number; head: string }
  | { kind: 'too-large'; size: number };
