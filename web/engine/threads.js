// The threaded engine: dist/wasm-cnn-mt.wasm instantiated once on this thread and once in each of `threads - 1`
// workers, all on one shared WebAssembly.Memory. Workers park inside the engine (cnn_threads_worker) and take tasks
// of the parallel loops the calling thread runs (c/src/threads.h); nothing crosses postMessage after start-up.
// Why our own workers and not Emscripten's pthreads: emcc 3.1.6 refuses pthreads with STANDALONE_WASM, and its
// pthread glue (a generated JS loader and worker script, a fetch that predates Node 20) would replace the loader
// that the single-threaded build uses; here both builds load the same way, with next to no imports.

import { isNode, nodeBuiltin } from '../core/env.js';

// Must match build.sh: -sINITIAL_MEMORY=2MB -sMAXIMUM_MEMORY=4GB (64 KiB pages); the memory grows as the models need.
const INITIAL_PAGES = 32;
const MAXIMUM_PAGES = 65536;
// Each worker's C stack: the kernels keep a few hundred bytes of locals; 256 KiB leaves a wide margin.
const WORKER_STACK_BYTES = 256 * 1024;
const START_TIMEOUT_MS = 20000;
export const MAX_THREADS = 64; // CNN_MAX_THREADS in c/src/threads.h
export const DEFAULT_MAX_THREADS = 8;

/**
 * The thread count ready() picks when not told: every logical core, at most DEFAULT_MAX_THREADS (past 8 the passes of
 * a browser-sized model are too short to split further, and a page shares the machine with other tabs). The engine's
 * calling thread is one of them, so the engine keeps exactly `threads` cores busy. On the 2-core machine it was
 * measured on (tests/bench/threads.js), 2 threads ran the 3x3 convs 1.2-1.9x, and the LeNet-5, ResNet-20 and SegNet
 * training steps 1.6-1.7x as fast as one.
 * @param {number} cores logical cores reported by the platform
 * @returns {{ threads: number, reason: string }} reason: why the default is one thread ('' otherwise)
 */
export function defaultThreads(cores) {
  if (!(cores >= 2)) {
    return { threads: 1, reason: `the platform reports ${cores === 1 ? '1 logical core' : 'no core count'}: one thread` };
  }
  return { threads: Math.min(cores, DEFAULT_MAX_THREADS), reason: '' };
}

/** Logical cores of this machine (Node: os.availableParallelism, browsers: navigator.hardwareConcurrency). */
export async function hardwareThreads() {
  if (isNode) {
    const os = await nodeBuiltin('os');
    return os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  }
  return globalThis.navigator?.hardwareConcurrency || 1;
}

/** Whether this environment can run the threaded build: { ok, reason } (reason says why not). */
export function threadSupport() {
  const isolatedHint = 'serve the page with the headers Cross-Origin-Opener-Policy: same-origin and ' +
    'Cross-Origin-Embedder-Policy: require-corp (see docs/API.md, "Threads")';
  if (!isNode && globalThis.crossOriginIsolated === false) {
    return { ok: false, reason: `SharedArrayBuffer is unavailable: the page is not cross-origin isolated; ${isolatedHint}` };
  }
  if (typeof SharedArrayBuffer !== 'function') {
    return { ok: false, reason: `SharedArrayBuffer is unavailable in this environment${isNode ? '' : `; ${isolatedHint}`}` };
  }
  if (!isNode && typeof Worker !== 'function') {
    return { ok: false, reason: 'Web Workers are unavailable in this environment' };
  }
  return { ok: true, reason: '' };
}

/**
 * Instantiates the threaded build with `threads` threads (this one included).
 * @param {{ module: WebAssembly.Module, threads: number, imports: (module: WebAssembly.Module) => object }} options
 *   imports: the import object of the single-threaded build (its stubs); env.memory is added here.
 * @returns {Promise<{ exports: object, threads: number, terminate: () => void }>} exports: the main instance's
 *   exports plus `memory` (the build imports its memory rather than exporting it).
 */
export async function instantiateThreaded({ module, threads, imports }) {
  const memory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum: MAXIMUM_PAGES, shared: true });
  const importObject = imports(module);
  importObject.env = { ...importObject.env, memory };
  const instance = await WebAssembly.instantiate(module, importObject);
  const exports = { ...instance.exports, memory };
  if (exports._initialize) exports._initialize();
  // Atomics.wait is allowed everywhere except on a browser's main thread.
  const mayBlock = isNode || (typeof WorkerGlobalScope !== 'undefined' && globalThis instanceof WorkerGlobalScope);
  if (exports.cnn_threads_init(threads, mayBlock ? 1 : 0) !== 0) throw new Error(`the engine refused a pool of ${threads} threads`);
  const stacks = exports.malloc(WORKER_STACK_BYTES * (threads - 1) + 16);
  if (!stacks) throw new Error('out of memory for the worker stacks');
  const workers = [];
  const terminate = () => {
    exports.cnn_threads_stop();
    for (const w of workers) w.terminate();
    workers.length = 0;
  };
  try {
    const started = [];
    for (let id = 1; id < threads; id++) {
      const stackTop = (stacks + WORKER_STACK_BYTES * id) & ~15; // stacks grow down
      const worker = await spawn();
      workers.push(worker);
      started.push(new Promise((resolve, reject) => {
        worker.onMessage((msg) => {
          if (msg?.type === 'ready') resolve();
          else if (msg?.type === 'error') reject(new Error(`worker ${id}: ${msg.message}`));
        });
        worker.onError((err) => reject(new Error(`worker ${id}: ${err?.message ?? err}`)));
      }));
      worker.post({ type: 'start', module, memory, id, stackTop });
    }
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the workers did not start within ${START_TIMEOUT_MS / 1000} s`)),
        START_TIMEOUT_MS);
    });
    try {
      await Promise.race([Promise.all(started), timeout]);
      for (const w of workers) w.started?.();
    } finally {
      clearTimeout(timer);
    }
  } catch (err) {
    terminate();
    throw err;
  }
  return { exports, threads, terminate };
}

// One worker behind a small adapter: Node's worker_threads and the browser's Worker differ in events and lifetime.
async function spawn() {
  const url = new URL('./threads-worker.js', import.meta.url);
  if (isNode) {
    const { Worker } = await nodeBuiltin('worker_threads');
    // execArgv: [] - the parent's flags (--input-type, --eval, ...) are about its own script, not this one.
    const worker = new Worker(url, { execArgv: [] });
    return {
      post: (msg) => worker.postMessage(msg),
      onMessage: (fn) => worker.on('message', fn),
      onError: (fn) => worker.on('error', fn),
      // A parked worker must not keep the process alive; unref once the listeners are attached (adding one refs).
      started: () => worker.unref(),
      terminate: () => { worker.terminate(); },
    };
  }
  const worker = new Worker(url, { type: 'module', name: 'wasm-cnn thread' });
  return {
    post: (msg) => worker.postMessage(msg),
    onMessage: (fn) => worker.addEventListener('message', (e) => fn(e.data)),
    onError: (fn) => worker.addEventListener('error', (e) => { e.preventDefault?.(); fn(e.message || 'failed to load'); }),
    terminate: () => worker.terminate(),
  };
}
