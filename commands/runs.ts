import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../src/cli/base.js';
import { LISTED_STATUSES } from '../src/metadata/run-query.js';
import { writeStdout } from '../src/cli/stdout.js';
import type { ChunkedBytes } from '../src/util/chunked.js';

export default class Runs extends BaseCommand {
  static override summary = 'List runs, newest first: id, flow, status, kind, start, duration, user, git commit, dirty flag, tags.';
  static override description = "Every user's runs, replays and what-ifs are listed (filter with --user). A replay's status is its verdict: diverged when it did not reproduce its origin, unverified when nothing was compared. Tags include those added with flow tag.";
  static override examples = ['<%= config.bin %> runs', '<%= config.bin %> runs --flow TrainFlow --tag nightly --status ok --limit 5', '<%= config.bin %> runs --user alice --json'];
  static override enableJsonFlag = true;
  // ignoreStdin: oclif would otherwise wait up to 10 ms for the argument on a stdin that is not a terminal.
  static override args = { flow: Args.string({ description: 'only runs of this flow (same as --flow)', ignoreStdin: true }) };
  static override flags = {
    flow: Flags.string({ description: 'only runs of this flow' }),
    tag: Flags.string({ description: 'only runs carrying this tag (repeatable: every one)', multiple: true }),
    status: Flags.string({ description: 'only runs with this status', options: [...LISTED_STATUSES] }),
    user: Flags.string({ description: 'only runs started by this user' }),
    limit: Flags.integer({ description: 'at most this many (the newest)', min: 1 }),
    remote: Flags.boolean({ description: 'list the runs on the S3 mirror instead of the local store' }),
  };

  async run(): Promise<unknown> {
    const { args, flags } = await this.parse(Runs);
    const { listRunsCommand, listRunsJsonCommand } = await import('../src/cli/runs-command.js');
    const filters = { flow: flags.flow ?? args.flow, tags: flags.tag, status: flags.status, user: flags.user, limit: flags.limit, remote: flags.remote };
    // With --json, the listing is printed from the run index's texts (issue #18); the table is for people.
    if (this.jsonEnabled()) {
      const { PrintedJson } = await import('../src/cli/printed-json.js');
      this.printed = new PrintedJson(await listRunsJsonCommand(filters));
      return this.printed;
    }
    const { renderRuns, runsJson } = await import('../src/cli/views.js');
    const runs = await listRunsCommand(filters);
    this.log(renderRuns(runs));
    return { schema: 'flowrun.runs/1', runs: runsJson(runs) };
  }

  /** The listing's JSON, already printed as text: set only when run() returns it (an error's JSON is not it). */
  private printed?: { pieces: ReadonlyArray<string | Uint8Array | ChunkedBytes> };

  override logJson(json: unknown): void {
    if (this.printed === undefined || json !== this.printed) return super.logJson(json);
    for (const piece of this.printed.pieces) writeStdout(piece);
    writeStdout('\n');
  }
}
