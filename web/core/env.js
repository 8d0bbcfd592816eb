// Where the library runs. Node (and Deno/Bun in Node mode) read files from disk; pages and workers fetch.

/** True in Node (not in a page or a Web Worker, even when a bundler provides a `process` shim). */
export const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined' &&
  typeof WorkerGlobalScope === 'undefined';

/**
 * Imports a Node built-in module ('fs/promises', 'worker_threads') at run time. The specifier is built, not
 * written out, so that bundlers making a browser build leave it alone instead of failing to resolve 'node:...'.
 */
export function nodeBuiltin(name) {
  const specifier = `node:${name}`;
  return import(/* webpackIgnore: true */ /* @vite-ignore */ specifier);
}
