// The one wasm instance of the C engine: loading it (Node: from disk; pages and workers: fetch), heap access, and
// status checking. Everything else in web/ talks to C through this module and abi.js. Heap views are made fresh on
// every access, since memory growth replaces the underlying ArrayBuffer. Two builds: dist/wasm-cnn.wasm (one
// thread) and dist/wasm-cnn-mt.wasm (a thread pool on a shared memory, started by threads.js); both pass the same
// ABI check.
import { CnnError } from '../core/errors.js';
import { isNode, nodeBuiltin } from '../core/env.js';
import { STATUS, STATUS_NAMES, LIMITS, verifyAbi } from './abi.js';
import { instantiateThreaded, threadSupport, hardwareThreads, defaultThreads, MAX_THREADS } from './threads.js';

let wasm = null; // the instance's exports once ready
let readyPromise = null;
let info = { simd: true, threads: 1, build: 'wasm-cnn.wasm', reason: 'not loaded yet' };

/**
 * Resolves when the engine is loaded. By default the .wasm files are found in the package's dist/ folder relative
 * to this module (bundlers understand `new URL(..., import.meta.url)`); `wasmPath` (a URL or path, for CDNs) or
 * `wasmBinary` (the bytes) override the single-threaded build, `wasmThreadsPath` / `wasmThreadsBinary` the threaded
 * one (`wasmUrl` / `wasmThreadsUrl` are older names). `threads`: how many threads run the engine (default: see
 * defaultThreads in threads.js; 1 = the single-threaded build). The first call decides; engineInfo() says what was
 * chosen and why.
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
  const plan = await planThreads(options);
  if (plan.threads > 1) {
    const where = options.wasmThreadsPath ?? options.wasmThreadsUrl;
    const url = where ? new URL(where, import.meta.url) : new URL('../../dist/wasm-cnn-mt.wasm', import.meta.url);
    try {
      const module = await compileEngine(url, options.wasmThreadsBinary);
      const mt = await instantiateThreaded({ module, threads: plan.threads, imports: importsFor });
      try {
        verifyEngine(mt.exports, url);
      } catch (err) {
        mt.terminate();
        throw err;
      }
      wasm = mt.exports;
      info = { simd: true, threads: mt.threads, build: 'wasm-cnn-mt.wasm', reason: plan.reason };
      return true;
    } catch (err) {
      // An engine that does not match this JavaScript is an error in either build, not a reason to fall back.
      if (err instanceof CnnError && err.abiMismatch) throw err;
      plan.reason = `the threaded engine did not start (${err.message}); running on one thread`;
    }
  }
  const where = options.wasmPath ?? options.wasmUrl;
  const url = where ? new URL(where, import.meta.url) : new URL('../../dist/wasm-cnn.wasm', import.meta.url);
  const module = await compileEngine(url, options.wasmBinary);
  const instance = await WebAssembly.instantiate(module, importsFor(module));
  const exports = instance.exports;
  if (exports._initialize) exports._initialize();
  verifyEngine(exports, url);
  wasm = exports;
  info = { simd: true, threads: 1, build: 'wasm-cnn.wasm', reason: plan.reason };
  return true;
}

// The engine must describe the ABI this JavaScript was written against (abi.js).
function verifyEngine(exports, url) {
  try {
    if (typeof exports.cnn_abi_json !== 'function') {
      throw new CnnError(`wasm-cnn: the engine at ${url.href} predates this JavaScript (it does not describe its ABI); ` +
        'rebuild dist/ from the same sources (bash build.sh)');
    }
    verifyAbi(JSON.parse(readCString(exports, exports.cnn_abi_json(), 1 << 16)));
  } catch (err) {
    if (err instanceof CnnError) err.abiMismatch = true;
    throw err;
  }
}

// How many threads to start, and why fewer than asked (reason '' when none is missing).
async function planThreads(options) {
  const { threads } = options;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= MAX_THREADS)) {
    throw new CnnError(`ready: threads must be an integer from 1 to ${MAX_THREADS}, got ${String(threads)}`);
  }
  if (threads === 1) return { threads: 1, reason: 'threads: 1 was requested' };
  if (threads === undefined) {
    const chosen = defaultThreads(await hardwareThreads());
    if (chosen.threads === 1) return chosen;
  }
  const wanted = threads ?? defaultThreads(await hardwareThreads()).threads;
  const single = options.wasmPath ?? options.wasmUrl ?? options.wasmBinary;
  const multi = options.wasmThreadsPath ?? options.wasmThreadsUrl ?? options.wasmThreadsBinary;
  if (single && !multi) {
    return { threads: 1, reason: 'wasmPath / wasmBinary name the single-threaded build only; pass wasmThreadsPath ' +
      'or wasmThreadsBinary (dist/wasm-cnn-mt.wasm) as well to run threaded' };
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
      const { readFile } = await nodeBuiltin('fs/promises');
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

/** Copies a Float32Array into fresh engine memory (malloc); the caller frees it with engine().free. */
export function copyToEngine(values, what) {
  const e = engine();
  const ptr = e.malloc(Math.max(4, values.length * 4));
  if (!ptr) throw new CnnError(`${what}: the engine is out of memory (${values.length * 4} bytes)`, STATUS.OUT_OF_MEMORY);
  heapF32(ptr, values.length).set(values);
  return ptr;
}

function readCString(e, ptr, maxBytes) {
  const bytes = new Uint8Array(e.memory.buffer, ptr, Math.min(maxBytes, e.memory.buffer.byteLength - ptr));
  const end = bytes.indexOf(0);
  // slice: browsers' TextDecoder refuses views of the threaded build's shared memory.
  return new TextDecoder().decode(bytes.slice(0, end < 0 ? bytes.length : end));
}

export function lastError() {
  const e = engine();
  return readCString(e, e.cnn_last_error(), LIMITS.errorBytes);
}

/** Throws a CnnError carrying the engine's message when status (or a negative node id) signals failure. */
export function check(status, context) {
  if (status === STATUS.OK || status > 0 && context?.allowPositive) return status;
  const code = Math.abs(status);
  const detail = lastError() || STATUS_NAMES[code] || `status ${code}`;
  // The engine's messages may already start with the operation's name ("predict: ..."): say it once.
  const prefixed = !context?.prefix || detail.startsWith(`${context.prefix}:`) ? detail : `${context.prefix}: ${detail}`;
  throw new CnnError(prefixed, code);
}

/** For adder functions that return a node id (>= 0) or a negative status. */
export function checkId(id, prefix) {
  if (id >= 0) return id;
  return check(id, { prefix });
}
