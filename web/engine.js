// The one wasm instance of the C engine: loading it (Node: from disk; browser: fetch), heap access, and status
// checking. Everything else in web/ talks to C through this module. Heap views are made fresh on every access,
// since memory growth replaces the underlying ArrayBuffer.

import { instantiateThreaded, threadSupport, hardwareThreads, MAX_THREADS, DEFAULT_MAX_THREADS } from './engine/threads.js';

/** Error thrown for every failure the engine or the API detects; `message` says what to change. */
export class CnnError extends Error {
  constructor(message, status = 0) {
    super(message);
    this.name = 'CnnError';
    this.status = status;
  }
}

const STATUS_NAMES = ['ok', 'invalid argument', 'invalid shape', 'out of memory', 'invalid state', 'non-finite value'];

let wasm = null; // the instance's exports once ready
let readyPromise = null;
let scratchPtr = 0; // 64 bytes of engine memory for small out-parameters
let info = { simd: true, threads: 1, build: 'wasm-cnn.wasm', reason: 'not loaded yet' };

const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined';

/**
 * Resolves when the engine is loaded. `options.threads`: how many threads run the engine (default: the machine's
 * logical cores, at most 8; 1 = the single-threaded build). `options.wasmUrl` / `options.wasmBinary` override where
 * the single-threaded build comes from, `options.wasmThreadsUrl` / `options.wasmThreadsBinary` the threaded one.
 * The first call decides; see engineInfo() for what was chosen and why.
 */
export function ready(options = {}) {
  if (!readyPromise) {
    readyPromise = instantiate(options).catch((err) => {
      readyPromise = null;
      throw err;
    });
  }
  return readyPromise;
}

/** { simd, threads, build, reason }: the engine build in use, its thread count, and why it has fewer threads than asked. */
export function engineInfo() { return { ...info }; }

async function instantiate(options = {}) {
  const { wasmUrl, wasmBinary } = options;
  const plan = await planThreads(options);
  if (plan.threads > 1) {
    try {
      const url = options.wasmThreadsUrl ? new URL(options.wasmThreadsUrl, import.meta.url)
        : new URL('../dist/wasm-cnn-mt.wasm', import.meta.url);
      const module = await compileEngine(url, options.wasmThreadsBinary);
      const mt = await instantiateThreaded({ module, threads: plan.threads, imports: importsFor });
      wasm = mt.exports;
      scratchPtr = wasm.malloc(64);
      info = { simd: true, threads: mt.threads, build: 'wasm-cnn-mt.wasm', reason: plan.reason };
      return true;
    } catch (err) {
      plan.reason = `the threaded engine did not start (${err.message}); running on one thread`;
    }
  }
  const url = wasmUrl ? new URL(wasmUrl, import.meta.url) : new URL('../dist/wasm-cnn.wasm', import.meta.url);
  const module = await compileEngine(url, wasmBinary);
  const instance = await WebAssembly.instantiate(module, importsFor(module));
  wasm = instance.exports;
  if (wasm._initialize) wasm._initialize();
  scratchPtr = wasm.malloc(64);
  info = { simd: true, threads: 1, build: 'wasm-cnn.wasm', reason: plan.reason };
  return true;
}

// How many threads to start, and why fewer than asked (reason '' when none is missing).
async function planThreads({ threads, wasmUrl, wasmBinary, wasmThreadsUrl, wasmThreadsBinary }) {
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= MAX_THREADS)) {
    throw new CnnError(`ready: threads must be an integer from 1 to ${MAX_THREADS}, got ${String(threads)}`);
  }
  if (threads === 1) return { threads: 1, reason: 'threads: 1 was requested' };
  const cores = await hardwareThreads();
  const wanted = threads ?? Math.min(cores, DEFAULT_MAX_THREADS);
  if (wanted === 1) return { threads: 1, reason: 'this machine reports one logical core' };
  if ((wasmUrl || wasmBinary) && !(wasmThreadsUrl || wasmThreadsBinary)) {
    return { threads: 1, reason: 'wasmUrl / wasmBinary name the single-threaded build only; pass wasmThreadsUrl or ' +
      'wasmThreadsBinary (dist/wasm-cnn-mt.wasm) as well to run threaded' };
  }
  const support = threadSupport();
  if (!support.ok) return { threads: 1, reason: support.reason };
  return { threads: wanted, reason: '' };
}

async function compileEngine(url, binary) {
  let module;
  try {
    if (binary) {
      module = await WebAssembly.compile(binary);
    } else if (isNode && url.protocol === 'file:') {
      const { readFile } = await import('node:fs/promises');
      module = await WebAssembly.compile(await readFile(url));
    } else {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const isWasmType = (response.headers.get('content-type') || '').startsWith('application/wasm');
      module = isWasmType && WebAssembly.compileStreaming
        ? await WebAssembly.compileStreaming(response)
        : await WebAssembly.compile(await response.arrayBuffer());
    }
  } catch (err) {
    throw new CnnError(`wasm-cnn: could not load the engine from ${url.href}: ${err.message}` +
      (isNode ? ' (run `bash build.sh` to build dist/)' : ''));
  }
  return module;
}

// A standalone wasm build imports next to nothing; whatever it does import (WASI stubs pulled in by libc, the
// memory-growth notification) gets a harmless stand-in that reports failure instead of trapping.
function importsFor(module) {
  const imports = {};
  for (const { module: mod, name, kind } of WebAssembly.Module.imports(module)) {
    if (kind !== 'function') continue;
    imports[mod] ??= {};
    if (name === 'proc_exit') {
      imports[mod][name] = (code) => { throw new CnnError(`wasm-cnn engine exited with code ${code}`); };
    } else if (name === 'emscripten_notify_memory_growth') {
      imports[mod][name] = () => {};
    } else {
      imports[mod][name] = () => 52; // WASI ENOSYS
    }
  }
  return imports;
}

/** The engine's exports; throws a helpful error when ready() has not resolved yet. */
export function engine() {
  if (!wasm) throw new CnnError('wasm-cnn is not ready: `await cnn.ready()` before using the library');
  return wasm;
}

export function isReady() { return wasm !== null; }

export function heapF32(ptr, length) { return new Float32Array(engine().memory.buffer, ptr, length); }
export function heapI32(ptr, length) { return new Int32Array(engine().memory.buffer, ptr, length); }
export function heapBytes() { return engine().memory.buffer.byteLength; }

/** A pointer to 64 bytes of engine memory for out-parameters; valid until the next engine call that uses it. */
export function scratch() { engine(); return scratchPtr; }

export function lastError() {
  const e = engine();
  const ptr = e.cnn_last_error();
  const bytes = new Uint8Array(e.memory.buffer, ptr, 512);
  const end = bytes.indexOf(0);
  // slice: browsers' TextDecoder refuses views of the threaded build's shared memory.
  return new TextDecoder().decode(bytes.slice(0, end < 0 ? bytes.length : end));
}

/** Throws a CnnError carrying the engine's message when status (or a negative node id) signals failure. */
export function check(status, context) {
  if (status === 0 || status > 0 && context?.allowPositive) return status;
  const code = Math.abs(status);
  const detail = lastError() || STATUS_NAMES[code] || `status ${code}`;
  throw new CnnError(context?.prefix ? `${context.prefix}: ${detail}` : detail, code);
}

/** For adder functions that return a node id (>= 0) or a negative status. */
export function checkId(id, prefix) {
  if (id >= 0) return id;
  return check(id, { prefix });
}
