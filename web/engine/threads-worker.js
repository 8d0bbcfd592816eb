// A worker of the threaded engine (see threads.js): instantiates the module on the shared memory, moves its C stack
// pointer to the stack it was given, reports ready, then stays inside cnn_threads_worker taking tasks until stopped.

import { isNode, nodeBuiltin } from '../core/env.js';

const port = isNode ? (await nodeBuiltin('worker_threads')).parentPort : self;
const listen = (fn) => (isNode ? port.on('message', fn) : port.addEventListener('message', (e) => fn(e.data)));

// The same stand-ins as the single-threaded loader: a worker never grows memory nor calls into libc's I/O.
function importsFor(module, memory) {
  const imports = { env: { memory } };
  for (const { module: mod, name, kind } of WebAssembly.Module.imports(module)) {
    if (kind !== 'function') continue;
    imports[mod] ??= {};
    imports[mod][name] = name === 'emscripten_notify_memory_growth' ? () => {} : () => 52;
  }
  return imports;
}

listen(async (msg) => {
  if (msg?.type !== 'start') return;
  try {
    const instance = await WebAssembly.instantiate(msg.module, importsFor(msg.module, msg.memory));
    // No _initialize: the main instance already ran the constructors on the shared memory.
    instance.exports.stackRestore(msg.stackTop);
    port.postMessage({ type: 'ready' });
    instance.exports.cnn_threads_worker(msg.id); // returns when the pool stops
    port.postMessage({ type: 'stopped' });
  } catch (err) {
    port.postMessage({ type: 'error', message: err?.message ?? String(err) });
  }
});
