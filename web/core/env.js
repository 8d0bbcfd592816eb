// Where the library runs. Node (and Deno/Bun in Node mode) read files from disk; pages and workers fetch.

/** True in Node (not in a page or a Web Worker, even when a bundler provides a `process` shim). */
export const isNode = typeof process !== 'undefined' && !!process.versions?.node && typeof window === 'undefined' &&
  typeof importScripts !== 'function';
