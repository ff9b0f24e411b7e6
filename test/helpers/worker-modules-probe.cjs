// Preloaded into a task worker (node -r): when the worker says 'ready', writes the Node modules
// it has loaded by then (process.moduleLoadList) to $FLOW_TEST_WORKER_MODULES, one a line.
'use strict';
const fs = require('node:fs');

const out = process.env.FLOW_TEST_WORKER_MODULES;
const send = process.send.bind(process);
process.send = (message, ...rest) => {
  if (message && message.type === 'ready') fs.writeFileSync(out, process.moduleLoadList.join('\n'));
  return send(message, ...rest);
};
