// tests/browser/threads.test.js: cnn.ready({ threads }) from the query string, then the thread tests' training run;
// the result goes to window.__result and the page's text.
import * as cnn from '../../../web/index.js';
import { trainThreadsNet } from '../../js/threads-net.js';

const log = document.getElementById('log');
try {
  const param = new URLSearchParams(location.search).get('threads');
  const started = performance.now();
  await cnn.ready(param ? { threads: Number(param) } : {});
  const result = await trainThreadsNet(cnn);
  result.crossOriginIsolated = globalThis.crossOriginIsolated;
  result.hardwareConcurrency = navigator.hardwareConcurrency;
  window.__result = result;
  log.textContent = `${JSON.stringify(result, null, 1)}\n${(performance.now() - started).toFixed(0)} ms`;
  document.body.dataset.state = 'done';
} catch (err) {
  document.getElementById('error').textContent = err.stack || String(err);
  document.body.dataset.state = 'error';
}
