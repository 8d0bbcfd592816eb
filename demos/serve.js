#!/usr/bin/env node
/**
 * A small, dependency-free static server for the repository root, bound to 127.0.0.1.
 *
 *   node demos/serve.js            # PORT env or 8080; a free port if that one is taken
 *   import { startServer } from './demos/serve.js';
 *   const { url, close } = await startServer({ port: 0, quiet: true });
 *
 * Sends COOP/COEP so that a threaded (SharedArrayBuffer) build works, serves .wasm as application/wasm, and refuses
 * any path that resolves outside the repository root. / redirects to the demos' index page (demos/index.html).
 */
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { stat, readdir, realpath } from 'node:fs/promises';
import { dirname, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.md': 'text/markdown; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
  '.bin': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

const COMMON_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Content-Type-Options': 'nosniff',
  // A development server: always revalidate, so that a rebuilt wasm or edited page is picked up.
  'Cache-Control': 'no-cache',
};

/** True when `path` is the root itself or lies below it. */
function inside(root, path) {
  return path === root || path.startsWith(root + sep);
}

function send(res, status, body, type = 'text/plain; charset=utf-8', extra = {}) {
  res.writeHead(status,
    { ...COMMON_HEADERS, 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...extra });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}

const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A plain listing for directories without an index.html. */
async function listing(res, dir, urlPath) {
  const entries = (await readdir(dir, { withFileTypes: true }))
    .filter((e) => !e.name.startsWith('.'))
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((e) => {
      const name = e.name + (e.isDirectory() ? '/' : '');
      return `<li><a href="${encodeURIComponent(e.name)}${e.isDirectory() ? '/' : ''}">${escapeHtml(name)}</a></li>`;
    });
  const title = escapeHtml(urlPath);
  const html = `<!doctype html><meta charset="utf-8"><title>${title}</title><h1>${title}</h1>` +
    `<ul>${entries.join('')}</ul>`;
  send(res, 200, html, MIME['.html']);
}

async function handle(req, res, root) {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, 'method not allowed\n', undefined, { Allow: 'GET, HEAD' });
    return;
  }
  let urlPath;
  try {
    urlPath = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
  } catch {
    send(res, 400, 'bad request\n');
    return;
  }
  if (urlPath.includes('\0')) {
    send(res, 400, 'bad request\n');
    return;
  }
  // The root has no page of its own: / is the demos' index.
  if (urlPath === '/') {
    send(res, 302, 'found\n', undefined, { Location: '/demos/' });
    return;
  }
  // resolve() removes '..'; the realpath check below also catches symlinks that point outside the root.
  let file = resolve(root, '.' + urlPath);
  if (!inside(root, file)) {
    send(res, 403, 'forbidden\n');
    return;
  }
  let info;
  try {
    file = await realpath(file);
    if (!inside(root, file)) {
      send(res, 403, 'forbidden\n');
      return;
    }
    info = await stat(file);
  } catch {
    send(res, 404, `not found: ${urlPath}\n`);
    return;
  }
  if (info.isDirectory()) {
    // Relative URLs in a page (./app.js) need the trailing slash.
    if (!urlPath.endsWith('/')) {
      send(res, 301, 'moved\n', undefined, { Location: encodeURI(urlPath) + '/' });
      return;
    }
    const index = join(file, 'index.html');
    try {
      info = await stat(index);
      file = index;
    } catch {
      await listing(res, file, urlPath);
      return;
    }
  }
  res.writeHead(200, {
    ...COMMON_HEADERS,
    'Content-Type': MIME[extname(file).toLowerCase()] ?? 'application/octet-stream',
    'Content-Length': info.size,
    'Last-Modified': info.mtime.toUTCString(),
  });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  createReadStream(file).on('error', () => res.destroy()).pipe(res);
}

/** Directories under demos/ that hold an index.html, as URL paths. */
async function demoPages(root) {
  const pages = [];
  for (const e of await readdir(join(root, 'demos'), { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    try {
      await stat(join(root, 'demos', e.name, 'index.html'));
      pages.push(`/demos/${e.name}/`);
    } catch { /* not a page */ }
  }
  return pages.sort();
}

function listen(server, port) {
  return new Promise((resolveListen, rejectListen) => {
    const onError = (err) => {
      server.off('listening', onListening);
      rejectListen(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolveListen();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, '127.0.0.1');
  });
}

/**
 * Starts the server.
 * @param {{ port?: number, quiet?: boolean, root?: string }} [opts] port 0 picks a free port; default PORT env or 8080,
 *   falling back to a free port when that one is taken
 * @returns {Promise<{ url: string, port: number, close: () => Promise<void> }>} url ends with '/'
 */
export async function startServer({ port, quiet = false, root = ROOT } = {}) {
  const wanted = port ?? Number(process.env.PORT ?? 8080);
  if (!Number.isInteger(wanted) || wanted < 0 || wanted > 65535) throw new Error(`startServer: bad port ${wanted}`);
  const rootReal = await realpath(root);
  const sockets = new Set();
  const server = createServer((req, res) => {
    handle(req, res, rootReal).catch((err) => {
      if (!res.headersSent) send(res, 500, `internal error: ${err.message}\n`);
      else res.destroy();
    });
  });
  // Track connections so that close() does not wait for idle keep-alive sockets.
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  try {
    await listen(server, wanted);
  } catch (err) {
    if (err.code !== 'EADDRINUSE' || wanted === 0) throw err;
    if (!quiet) console.log(`port ${wanted} is taken, using a free port`);
    await listen(server, 0);
  }
  const actual = server.address().port;
  const url = `http://127.0.0.1:${actual}/`;
  if (!quiet) {
    console.log(`serving ${rootReal} at ${url} (demos: ${url}demos/)`);
    for (const page of await demoPages(rootReal)) console.log(`  ${url}${page.slice(1)}`);
    console.log('press Ctrl+C to stop');
  }
  return {
    url,
    port: actual,
    close: () => new Promise((resolveClose) => {
      server.close(() => resolveClose());
      for (const s of sockets) s.destroy();
    }),
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  startServer().catch((err) => {
    console.error(`serve: ${err.message}`);
    process.exit(1);
  });
}
