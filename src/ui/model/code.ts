import type { Run } from '../../client/client.js';
import { LineIndex, type AstNode, walk } from '../../graph/source.js';
import { listCodePackage, readPackageFiles } from '../../package/code-package.js';
import { NotFoundError } from '../../errors/index.js';

/** Files larger than this are listed but not shown. */
const FILE_VIEW_MAX_BYTES = 2 << 20;

export interface CodeListing {
  run: string;
  hash: string;
  flowFile: string;
  files: Array<{ path: string; size: number; executable: boolean }>;
  git: Run['record']['git'];
  hasPatch: boolean;
}

function packageOf(run: Run): Buffer {
  const code = run.record.code;
  if (!code) throw new NotFoundError('CODE_PACKAGE_NOT_FOUND', `Run ${run.id} has no code package (it predates code packages).`, { fix: 'Only runs recorded by this flowrun version or later have one.' });
  return run.store.getObjectSync(code.hash);
}

export function codeListing(run: Run): CodeListing {
  const tar = packageOf(run);
  return {
    run: run.id,
    hash: run.record.code!.hash,
    flowFile: run.record.file,
    files: listCodePackage(tar).map((e) => ({ path: e.path, size: e.size, executable: (e.mode & 0o111) !== 0 })),
    git: run.record.git,
    hasPatch: Boolean(run.record.git?.patch),
  };
}

/** One file of the run's code package, as text (binary files are named as such, not shown). */
export async function codeFile(run: Run, path: string): Promise<{ path: string; size: number; text?: string; binary?: boolean; tooLarge?: boolean }> {
  const tar = packageOf(run);
  const entry = listCodePackage(tar).find((e) => e.path === path);
  if (!entry) throw new NotFoundError('CODE_FILE_NOT_FOUND', `The code package of ${run.id} has no file ${path}.`, { fix: `flow code ${run.id} lists its files.` });
  if (entry.size > FILE_VIEW_MAX_BYTES) return { path, size: entry.size, tooLarge: true };
  const text = (await readPackageFiles(tar, new Set([path]))).get(path) ?? '';
  if (text.includes('\u0000') || text.includes('\uFFFD')) return { path, size: entry.size, binary: true };
  return { path, size: entry.size, text };
}

/** The uncommitted changes the run was made with (git diff against its commit). */
export function dirtyPatch(run: Run): { run: string; commit: string | null; patch: string | null } {
  const git = run.record.git;
  return { run: run.id, commit: git?.commit ?? null, patch: git?.patch ? run.store.getObjectSync(git.patch).toString('utf8') : null };
}

/** A step's method as the run's code package has it: its text and where it sits in the flow file. */
export async function stepSource(run: Run, step: string): Promise<{ file: string; line: number; endLine: number; text: string } | undefined> {
  if (!run.record.code) return undefined;
  let text: string | undefined;
  try {
    text = (await readPackageFiles(packageOf(run), new Set([run.record.file]))).get(run.record.file);
  } catch {
    return undefined;
  }
  if (text === undefined) return undefined;
  const { parseSync } = await import('oxc-parser');
  const file = run.record.file;
  const lang = /\.[cm]?tsx?$/.test(file) ? (file.endsWith('x') ? 'tsx' : 'ts') : 'js';
  const parsed = parseSync(file, text, { lang, sourceType: 'module' });
  let found: AstNode | undefined;
  walk(parsed.program as unknown as AstNode, (n) => {
    if (found) return false;
    const key = n.key as AstNode | undefined;
    if (n.type === 'MethodDefinition' && key?.type === 'Identifier' && key.name === step) {
      found = n;
      return false;
    }
    return true;
  });
  if (!found) return undefined;
  const lines = new LineIndex(text);
  const decorators = Array.isArray(found.decorators) ? (found.decorators as AstNode[]) : [];
  const start = Math.min(found.start, ...decorators.map((d) => d.start));
  const from = text.lastIndexOf('\n', start - 1) + 1;
  return { file, line: lines.line(from), endLine: lines.line(found.end), text: text.slice(from, found.end) };
}
