import { resolve } from 'node:path';
import { Run } from '../client/client.js';
import { NotFoundError } from '../errors/index.js';
import { extractCodePackage, listCodePackage } from '../package/code-package.js';
import type { SyncStore } from '../store/types.js';
import { table } from '../errors/format.js';
import { PATH_DISPLAY_MAX, displayValue } from '../util/terminal.js';

/** `flow code RUN [--extract DIR]`: the package's files, or the files written out. */
export async function runCodePackage(store: SyncStore, id: string, extract?: string): Promise<{ lines: string[]; json: unknown }> {
  const run = await Run.open(store, id);
  const code = run.record.code;
  if (!code) throw new NotFoundError('CODE_PACKAGE_NOT_FOUND', `Run ${id} has no code package (it predates code packages).`, { fix: 'Only runs recorded by this flowrun version or later have one.' });
  const tar = store.getObjectSync(code.hash);
  if (extract) {
    const dir = resolve(extract);
    const files = extractCodePackage(tar, dir);
    return { lines: [`Wrote ${files.length} files of ${id}'s code package (${code.hash.slice(0, 12)}) to ${displayValue(dir, PATH_DISPLAY_MAX)}`], json: { schema: 'flowrun.code/1', run: id, hash: code.hash, extracted: dir, files } };
  }
  const entries = listCodePackage(tar);
  const git = run.record.git;
  const head = `${id}: ${entries.length} files, ${code.bytes} bytes, package ${code.hash.slice(0, 12)}${git ? `, commit ${git.commit?.slice(0, 10) ?? '(none)'}${git.dirty ? ' + uncommitted changes' : ''}` : ', no git'}`;
  return {
    lines: [
      head,
      ...table(
        entries.map((e) => [`  ${e.mode & 0o111 ? 'x' : '-'}`, String(e.size).padStart(8), e.path]),
        PATH_DISPLAY_MAX,
      ),
    ],
    json: { schema: 'flowrun.code/1', run: id, hash: code.hash, git, files: entries },
  };
}
