// A minimal Chrome DevTools Protocol client for the spin --inspect-brk test (run with
// node --experimental-websocket). It attaches to the URL in argv[2], lets the task run to the
// pause before the step, steps into the step and prints one JSON line: where it paused (script and function), the
// script it stepped into (with its source map's sources) and `this.scale` evaluated there.
const ws = new WebSocket(process.argv[2]);
let next = 0;
const pending = new Map();
const scripts = new Map();
let onPause;
const send = (method, params = {}) =>
  new Promise((resolve) => {
    const id = ++next;
    pending.set(id, resolve);
    ws.send(JSON.stringify({ id, method, params }));
  });
const paused = () =>
  new Promise((resolve) => {
    onPause = resolve;
  });
ws.onmessage = (m) => {
  const d = JSON.parse(m.data);
  if (d.id) {
    pending.get(d.id)?.(d.result);
    pending.delete(d.id);
    return;
  }
  if (d.method === 'Debugger.scriptParsed') scripts.set(d.params.scriptId, d.params);
  if (d.method === 'Debugger.paused') onPause?.(d.params);
};
ws.onopen = async () => {
  await send('Debugger.enable');
  let p = paused();
  await send('Runtime.runIfWaitingForDebugger');
  const first = (await p).callFrames[0];
  let frame = first;
  for (let i = 0; i < 5 && !scripts.get(frame.location.scriptId)?.url.includes('/modules/'); i++) {
    p = paused();
    await send('Debugger.stepInto');
    frame = (await p).callFrames[0];
  }
  const script = scripts.get(frame.location.scriptId);
  const map = script?.sourceMapURL?.startsWith('data:') ? JSON.parse(Buffer.from(script.sourceMapURL.split(',')[1], 'base64').toString('utf8')) : undefined;
  const value = await send('Debugger.evaluateOnCallFrame', { callFrameId: frame.callFrameId, expression: 'this.scale' });
  console.log(JSON.stringify({ pausedIn: scripts.get(first.location.scriptId)?.url, pausedFunction: first.functionName, steppedInto: frame.functionName, sources: map?.sources ?? [], scale: value.result.value }));
  await send('Debugger.resume');
  ws.close();
};
ws.onerror = (e) => {
  console.error(String(e.message ?? e));
  process.exit(1);
};
