import { FlowSpec, step, param, type Inputs } from 'flowrun';

/**
 * With `patch`, split 0 overrides what a serializer leans on (JSON.stringify, JSON.parse,
 * Buffer.prototype.toString, Object.prototype.toJSON, Array.prototype.map, Map iteration,
 * Object.keys) and does not put them back; every split stores the same kinds of artifacts. The
 * artifacts must be stored byte for byte as in a run without the patches, the patching task's
 * own included.
 */
export default class PatchBuiltinsFlow extends FlowSpec {
  @param({ help: 'let split 0 patch the built-ins' }) patch = false;
  @param({ help: 'number of splits' }) n = 4;

  items!: number[];
  base!: { list: number[]; table: Map<string, number>; bytes: Buffer; when: Date };
  seenBase!: unknown;
  doc!: Record<string, unknown>;
  bytes!: Buffer;
  table!: Map<string, number[]>;
  pristine!: boolean;
  docs!: unknown[];

  @step start() {
    this.items = [...Array(this.n).keys()];
    this.base = { list: [1, 2, 3], table: new Map([['k', 1]]), bytes: Buffer.from('base'), when: new Date(0) };
    this.next(this.work, { foreach: 'items' });
  }

  @step work() {
    const i = this.input as number;
    // What the task sees at its start: built-ins as Node made them.
    this.pristine = JSON.stringify({ a: [1] }) === '{"a":[1]}' && Buffer.from('hi').toString('hex') === '6869' && !('toJSON' in {}) && [1].map((x) => x + 1)[0] === 2;
    this.doc = { split: i, nested: { list: [1, 2, 3], when: new Date(0), big: 12n } };
    this.bytes = Buffer.from(`bytes of ${i}`);
    this.table = new Map([['a', [i]], ['b', [i, i]]]);
    if (this.patch && i === 0) {
      JSON.stringify = () => '"patched"';
      JSON.parse = () => ({ patched: true });
      Buffer.prototype.toString = function () { return 'patched'; };
      (Object.prototype as Record<string, unknown>).toJSON = function () { return 'patched'; };
      Array.prototype.map = function () { return ['patched']; } as typeof Array.prototype.map;
      Map.prototype[Symbol.iterator] = function* () { yield ['patched', 0]; } as typeof Map.prototype[typeof Symbol.iterator];
      Object.keys = () => ['patched'];
      Object.defineProperty(Uint8Array.prototype, 'subarray', { value() { return Buffer.from('patched'); }, configurable: true, writable: true });
    }
    // Loaded from the store now, under the patches: flowrun's decoding must not use them.
    this.seenBase = this.base;
    this.next(this.join);
  }

  @step join(inputs: Inputs<PatchBuiltinsFlow>) {
    this.docs = inputs.map((x) => [x.doc, x.bytes.toString('hex'), [...x.table], x.pristine]);
    this.next(this.end);
  }

  @step end() {}
}
