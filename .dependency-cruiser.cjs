/**
 * flowrun's layers (README "Architecture"), enforced in `npm test` by dependency-cruiser.
 * Folders of src/ from the bottom up: a module may import its own folder and folders below it,
 * never one above. A strict order leaves no room for cycles between folders; `no-circular`
 * also forbids cycles between modules of one folder.
 */
const LAYERS = [
  'util', 'errors', // foundations: no flowrun imports but each other's, bottom first
  'serialize', 'metadata', 'config', // data: artifact encoding, run/task records, .flowrc
  'store', 'mirror', // storage: the Store implementations, gc/fsck, replication to S3
  'decorators', 'graph', 'flow', 'cards', 'loader', 'package', 'git', 'env', // a flow, its code and environments
  'task', 'cache', 'runtime', 'batch', // execution: one task, the step cache around it, the scheduler, backends
  'client', 'plan', 'diff', 'replay', 'ui', // reading runs, planning, comparing, replaying, viewing
  'cli', // rendering and command services
];

const folder = (name) => `^src/${name}/`;

const layerRules = LAYERS.map((name, i) => ({
  name: `layer-${name}`,
  comment: `src/${name} may import only ${LAYERS.slice(0, i).join(', ') || 'nothing of flowrun'} besides itself`,
  severity: 'error',
  from: { path: folder(name) },
  to: { path: `^src/(${LAYERS.slice(i + 1).join('|')})/` },
}));

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycles, between folders or inside one.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-unknown-folder',
      comment: 'Every folder of src/ has a place in LAYERS (.dependency-cruiser.cjs) and in the README.',
      severity: 'error',
      from: { path: '^src/[^/]+/', pathNot: `^src/(${LAYERS.join('|')}|types)/` },
      to: {},
    },
    {
      name: 'library-not-commands',
      comment: 'The library never imports the oclif commands.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^commands/' },
    },
    {
      name: 'store-opened-not-named',
      comment: 'Only src/store/ names the local store class: everything else holds a Store, SyncStore or DiskStore (src/store/types.ts) and opens one through src/store/open.ts, so any consumer can run on a MemoryStore.',
      severity: 'error',
      from: { pathNot: '^src/store/' },
      to: { path: '^src/store/local\\.ts$' },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
