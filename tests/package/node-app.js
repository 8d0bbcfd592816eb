// Runs inside a folder where the packed tarball was installed: imports the package by name, as a user would.
import { writeFile } from 'node:fs/promises';
import * as cnn from 'wasm-cnn';
import { readImage, writeImage } from 'wasm-cnn/node';
import { trainSmall } from './train-small.js';

await cnn.ready();
const image = { width: 3, height: 2, data: new Uint8ClampedArray(24).map((_, i) => i * 10) };
await writeImage('tiny.png', image);
const back = await readImage('tiny.png');
const pixels = cnn.browser.fromPixels(back, 3);
const result = await trainSmall(cnn);
await writeFile('small.wcnn', result.bytes);
console.log(JSON.stringify({ version: cnn.version, losses: result.losses, testAccuracy: result.testAccuracy,
  imageRoundTrip: Array.from(back.data).every((v, i) => v === image.data[i]), pixelsShape: pixels.shape }));
pixels.dispose();
