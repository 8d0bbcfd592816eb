// A page as a bundler user writes it: the library by package name, the engine's .wasm as an asset whose URL the
// bundler gives (esbuild: loader { '.wasm': 'file' }), handed to cnn.ready as bytes.
import * as cnn from 'wasm-cnn';
import wasmUrl from 'wasm-cnn/wasm-cnn.wasm';
import { trainSmall } from '../train-small.js';

const status = document.getElementById('status');
try {
  const response = await fetch(wasmUrl);
  await cnn.ready({ wasmBinary: await response.arrayBuffer() });
  const { losses, testAccuracy } = await trainSmall(cnn);
  window.result = { losses, testAccuracy, wasmUrl };
  status.textContent = `trained: loss ${losses[0].toFixed(3)} -> ${losses.at(-1).toFixed(3)}`;
  document.body.dataset.state = 'done';
} catch (err) {
  status.textContent = String(err);
  window.result = { error: String(err.stack ?? err) };
  document.body.dataset.state = 'error';
}
