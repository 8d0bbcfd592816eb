// Runs inside the folder where the tarball was installed: the worker entry by name, its worker script and engine
// found inside the installed package, a saved model loaded there and compared with the same model here.
import { readFile } from 'node:fs/promises';
import * as cnn from 'wasm-cnn';
import { worker } from 'wasm-cnn/worker';

await cnn.ready();
const bytes = new Uint8Array(await readFile('small.wcnn'));
const x = cnn.tensor(new Float32Array(2 * 64).map((_, i) => (i % 8) / 8), [2, 8, 8, 1]);
const local = await cnn.loadModel(bytes);
const expected = Array.from(local.predict(x).dataSync());
const w = await worker.create();
try {
  const remote = await w.loadModel(bytes);
  const got = Array.from((await remote.predict(x)).dataSync());
  console.log(JSON.stringify({ expected, got, metadata: remote.metadata }));
} finally {
  w.terminate();
}
