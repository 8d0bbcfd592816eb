// The wasm-cnn command line, run as users run it (node bin/wasm-cnn.js ...): every subcommand, its --help, and the
// errors a user meets (missing files, unreadable images, wrong model kinds, bad options), each one line and exit 1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as cnn from '../../web/index.js';
import { readImage, writeImage } from '../../web/node/index.js';
import { Progress, formatDuration } from '../../web/node/progress.js';
import { loadMnist } from '../../recipes/mnist.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = join(ROOT, 'bin', 'wasm-cnn.js');
const SEGNET = join(ROOT, 'demos', 'models', 'segnet-shapes.wcnn');
let dir;

/** Runs the CLI; resolves to { code, stdout, stderr } (never rejects on a non-zero exit). */
function run(...args) {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: dir, timeout: 60_000, env: { ...process.env, WASM_CNN_DEBUG: '' } },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }));
  });
}

/** Asserts exit code 1 and a single stderr line matching `pattern`. */
async function fails(args, pattern) {
  const r = await run(...args);
  assert.equal(r.code, 1, `${args.join(' ')}: exit ${r.code}, stderr ${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n');
  assert.equal(lines.length, 1, `${args.join(' ')}: one line expected, got:\n${r.stderr}`);
  assert.match(lines[0], /^wasm-cnn: /);
  assert.match(lines[0], pattern);
  assert.doesNotMatch(r.stderr, /internal error|at .*\.js:\d+/);
  return r;
}

const rgba = (width, height, fill) => {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < width * height; i++) fill(i % width, Math.floor(i / width), data.subarray(4 * i, 4 * i + 4));
  return { width, height, data };
};

let scene; // a generated shapes scene (64 x 64) and its true mask
const DIGITS = { 0: 'zero', 1: 'one', 7: 'seven' };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wasm-cnn-cli-'));
  await cnn.ready();
  // A folder per class of real MNIST digits, 40 each; one per class is 36 x 36 (padded) to exercise resizing.
  const mnist = await loadMnist();
  const seen = { 0: 0, 1: 0, 7: 0 };
  for (let i = 0; i < mnist.count; i++) {
    const label = mnist.labels[i];
    if (!(label in DIGITS) || seen[label] >= 40) continue;
    const big = seen[label] === 0;
    seen[label]++;
    const side = big ? 36 : 28;
    const offset = big ? 4 : 0;
    const image = rgba(side, side, (x, y, px) => {
      const inside = x >= offset && y >= offset && x < offset + 28 && y < offset + 28;
      px[0] = px[1] = px[2] = inside ? Math.round(255 * mnist.images[i * 784 + (y - offset) * 28 + (x - offset)]) : 0;
      px[3] = 255;
    });
    await mkdir(join(dir, 'digits', DIGITS[label]), { recursive: true });
    await writeImage(join(dir, 'digits', DIGITS[label], `${i}.${i % 4 === 0 ? 'jpg' : 'png'}`), image, { quality: 95 });
  }
  await writeFile(join(dir, 'digits', 'one', 'README.txt'), 'not an image: skipped with a note');
  const s = cnn.data.shapes({ count: 1, size: 64, seed: 11, minShapes: 2, maxShapes: 3 });
  scene = {
    image: rgba(64, 64, (x, y, px) => {
      for (let k = 0; k < 3; k++) px[k] = Math.round(255 * s.images[3 * (y * 64 + x) + k]);
      px[3] = 255;
    }),
    mask: s.masks,
  };
  await writeImage(join(dir, 'scene.png'), scene.image);
  // the same scene at 96 x 80 (nearest neighbour), which the CLI must resize to the model's 64 x 64
  await writeImage(join(dir, 'scene-big.png'), rgba(96, 80, (x, y, px) => {
    const sx = Math.floor((x * 64) / 96), sy = Math.floor((y * 64) / 80);
    px.set(scene.image.data.subarray(4 * (sy * 64 + sx), 4 * (sy * 64 + sx) + 4));
  }));
  await writeFile(join(dir, 'broken.png'), (await readFile(join(dir, 'scene.png'))).subarray(0, 100));
  await writeFile(join(dir, 'notes.txt'), 'hello');
});

after(() => rm(dir, { recursive: true, force: true }));

test('--help for the program and each command; no command prints the help and exits 1', async () => {
  const [main, none, ...commands] = await Promise.all([run('--help'), run(),
    ...['predict', 'segment', 'info', 'train'].map((c) => run(c, '--help')), run('help', 'train'), run('--version')]);
  assert.equal(main.code, 0);
  for (const c of ['predict', 'segment', 'info', 'train']) assert.match(main.stdout, new RegExp(`\\n  ${c} `));
  assert.equal(none.code, 1);
  assert.match(none.stdout, /Usage: wasm-cnn <command>/);
  const usages = [/wasm-cnn predict <model.wcnn> <image\.\.\.>/, /wasm-cnn segment <model.wcnn> <image> \[--out mask\.png\] \[--overlay overlay\.png\]/,
    /wasm-cnn info <model.wcnn>/, /wasm-cnn train <folder> --out model\.wcnn \[--epochs 10\] \[--batch-size 32\] \[--size N\] \[--seed 1\]/,
    /wasm-cnn train <folder>/];
  commands.slice(0, 5).forEach((r, i) => {
    assert.equal(r.code, 0);
    assert.match(r.stdout, usages[i]);
    assert.match(r.stdout, /-h, --help/);
  });
  assert.equal(commands[5].stdout.trim(), cnn.version);
});

test('unknown commands and options, missing option values and arguments: one line, exit 1', async () => {
  await Promise.all([
    fails(['fly'], /unknown command 'fly'; commands: predict, segment, info, train/),
    fails(['help', 'fly'], /help: unknown command 'fly'/),
    fails(['predict', SEGNET, 'x.png', '--bogus'], /predict: unknown option --bogus \(see wasm-cnn predict --help\)/),
    fails(['train', 'digits', '--out'], /train: option --out needs a value/),
    fails(['info', '--json=1', SEGNET], /info: option --json takes no value/),
    fails(['predict'], /predict: missing <model\.wcnn>/),
    fails(['predict', SEGNET], /predict: no images given/),
    fails(['segment', SEGNET], /segment: missing <image>/),
    fails(['info'], /info: missing <model\.wcnn>/),
    fails(['train', 'digits'], /train: --out <model\.wcnn> is required/),
    fails(['train', 'digits', '--out', 'm.wcnn', '--epochs', 'two'], /train: --epochs must be an integer >= 1, got 'two'/),
    fails(['train', 'digits', '--out', 'm.wcnn', '--validation-split', '1.5'], /--validation-split must be a number from 0 to 0\.9, got '1\.5'/),
    fails(['predict', SEGNET, 'scene.png', '--top', '0'], /predict: --top must be an integer >= 1, got '0'/),
    fails(['segment', SEGNET, 'scene.png', '--alpha', '2'], /segment: --alpha must be a number from 0 to 1, got '2'/),
  ]);
});

test('info prints the layers, parameters, training settings and metadata of a model file', async () => {
  const model = await cnn.loadModel(SEGNET);
  const params = model.countParams();
  const metadata = model.metadata;
  model.dispose();
  const [text, json] = await Promise.all([run('info', SEGNET), run('info', SEGNET, '--json')]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`input \\[64,64,3\\], output \\[64,64,4\\], ${params} parameters`));
  assert.match(text.stdout, /enc1_conv1 \(Conv2D\)/);
  assert.match(text.stdout, new RegExp(`Total params: ${params}`));
  assert.match(text.stdout, /Training: loss sparseCategoricalCrossentropy/);
  assert.match(text.stdout, /Metadata:\n {2}trainedBy: "tools\/train-segmentation\.js"/);
  const info = JSON.parse(json.stdout);
  assert.deepEqual(info.inputShape, [64, 64, 3]);
  assert.deepEqual(info.outputShape, [64, 64, 4]);
  assert.equal(info.params, params);
  assert.equal(info.bytes, (await readFile(SEGNET)).length);
  assert.deepEqual(info.metadata, metadata);
});

test('info, predict and segment refuse missing files, directories, non-models and unreadable images', async () => {
  await Promise.all([
    fails(['info', 'nothing.wcnn'], /nothing\.wcnn: no such file \(the model file\)/),
    fails(['info', 'digits'], /digits: is a directory, expected the model file/),
    fails(['info', 'notes.txt'], /notes\.txt: the file is 5 bytes long, too short to be a wasm-cnn model/),
    fails(['info', 'scene.png'], /scene\.png: not a wasm-cnn model file/),
    fails(['segment', SEGNET, 'missing.png'], /missing\.png: no such file \(an image file\)/),
    fails(['segment', SEGNET, 'broken.png'], /broken\.png: truncated PNG/),
    fails(['segment', SEGNET, 'notes.txt'], /notes\.txt: not a PNG or JPEG image/),
    fails(['predict', SEGNET, 'scene.png'], /segnet-shapes\.wcnn: the model outputs \[64,64,4\] per image, not class scores \[classes\]; for per-pixel outputs use `wasm-cnn segment`/),
    fails(['segment', SEGNET, 'scene.png', '--out', 'mask.jpg'], /--out mask\.jpg: a mask must be written as \.png/),
    fails(['segment', SEGNET, 'scene.png', '--overlay', 'o.bmp'], /--overlay o\.bmp: the file name must end in \.png, \.jpg or \.jpeg/),
    fails(['segment', SEGNET, 'scene.png', 'scene-big.png'], /segment: takes one image, got also 'scene-big\.png'/),
  ]);
});

test('segment: the mask file matches model.segment and the scene, the overlay blends it, other sizes are resized', async () => {
  const r = await run('segment', SEGNET, 'scene.png', '--out', 'mask.png', '--overlay', 'overlay.jpg');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stderr, '', 'no resize note for an image of the model\'s size');
  assert.match(r.stdout, /^scene\.png: 64 x 64, 4 classes, \d+ ms\n/);
  assert.match(r.stdout, /wrote mask\.png \(pixel value = class id\)\nwrote overlay\.jpg/);
  const mask = await readImage(join(dir, 'mask.png'));
  assert.deepEqual([mask.width, mask.height], [64, 64]);
  const model = await cnn.loadModel(SEGNET);
  const expected = model.segment(await readImage(join(dir, 'scene.png')));
  let agree = 0;
  for (let i = 0; i < 64 * 64; i++) {
    assert.equal(mask.data[4 * i], expected.classes[i], `pixel ${i}`);
    if (mask.data[4 * i] === scene.mask[i]) agree++;
  }
  assert.ok(agree / 4096 > 0.85, `pixel accuracy against the generated mask ${agree / 4096}`);
  // the printed shares are the mask's
  const counts = [0, 0, 0, 0];
  for (const c of expected.classes) counts[c]++;
  for (let c = 0; c < 4; c++) {
    if (counts[c] > 0) assert.match(r.stdout, new RegExp(`\\n {2}${c} +${(100 * counts[c] / 4096).toFixed(1)}% {2}\\(${counts[c]} pixels\\)`));
  }
  const overlay = await readImage(join(dir, 'overlay.jpg'));
  assert.deepEqual([overlay.width, overlay.height], [64, 64]);
  // a shape pixel of the overlay moved towards its class colour; a background pixel (class 0 transparent) did not
  const palette = cnn.browser.defaultPalette();
  const fg = expected.classes.findIndex((c) => c > 0);
  const bg = expected.classes.indexOf(0);
  const dist = (a, b) => Math.abs(a[0] - b[0]) + Math.abs(a[1] - b[1]) + Math.abs(a[2] - b[2]);
  const at = (img, i) => Array.from(img.data.subarray(4 * i, 4 * i + 3));
  const colour = Array.from(palette.subarray(4 * expected.classes[fg], 4 * expected.classes[fg] + 3));
  assert.ok(dist(at(overlay, fg), colour) < dist(at(scene.image, fg), colour), 'the overlay colours the shapes');
  assert.ok(dist(at(overlay, bg), at(scene.image, bg)) < 40, 'the background stays (JPEG noise aside)');

  const big = await run('segment', SEGNET, 'scene-big.png', '--out', 'mask-big.png', '--colours', '--json');
  assert.equal(big.code, 0, big.stderr);
  assert.equal(big.stderr, "note: scene-big.png is 96 x 80 pixels; resized to the model's input of 64 x 64\n");
  const summary = JSON.parse(big.stdout);
  assert.deepEqual([summary.width, summary.height, summary.numClasses], [96, 80, 4]);
  assert.equal(summary.classes.reduce((n, c) => n + c.pixels, 0), 96 * 80);
  const colours = await readImage(join(dir, 'mask-big.png'));
  assert.deepEqual([colours.width, colours.height], [96, 80]);
  const direct = model.segment(await readImage(join(dir, 'scene-big.png')));
  const drawn = cnn.browser.maskToImageData(direct);
  assert.deepEqual(Array.from(colours.data), Array.from(drawn.data));
  model.dispose();
});

test('train: a classifier from a folder of digits reaches a held-out accuracy, then predict and info use it', async () => {
  const r = await run('train', 'digits', '--out', 'digits.wcnn', '--epochs', '8', '--batch-size', '16', '--seed', '3');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /note: skipped 1 file that is not \.png, \.jpg or \.jpeg/);
  assert.match(r.stderr, /3 classes \(one: 40, seven: 40, zero: 40\); 96 training and 24 held-out images at 28 x 28 x 1 \(3 resized\)/);
  // not a terminal: one plain line per epoch, no carriage returns
  assert.doesNotMatch(r.stderr, /\r/);
  const epochs = r.stderr.match(/^epoch \d+\/8 {2}loss [\d.]+ {2}acc [\d.]+ {2}held-out loss [\d.]+ {2}held-out acc [\d.]+ {2}\([\d.]+ s(, ETA \d+:\d\d)?\)$/gm);
  assert.equal(epochs?.length, 8, r.stderr);
  const acc = Number(/held-out accuracy ([\d.]+) on 24 images/.exec(r.stdout)?.[1]);
  assert.ok(acc >= 0.8, `held-out accuracy ${acc}\n${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /wrote digits\.wcnn \(\d+ bytes; classes: one, seven, zero\)/);

  const model = await cnn.loadModel(join(dir, 'digits.wcnn'));
  assert.deepEqual(model.metadata.classNames, ['one', 'seven', 'zero']);
  assert.deepEqual(model.inputShape, [null, 28, 28, 1]);
  assert.ok(Math.abs(model.metadata.heldOut.accuracy - acc) < 5e-4);
  model.dispose();

  // predict: the top class of a clear digit of each class, and the probabilities sum to one
  const files = ['one', 'seven', 'zero'].map((c) => join('digits', c, ''));
  const { readdir } = await import('node:fs/promises');
  const picks = [];
  for (const f of files) picks.push(join(f, (await readdir(join(dir, f))).sort()[5]));
  const p = await run('predict', 'digits.wcnn', ...picks, '--top', '3', '--json');
  assert.equal(p.code, 0, p.stderr);
  const rows = p.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rows.length, 3);
  let right = 0;
  rows.forEach((row, i) => {
    assert.equal(row.file, picks[i]);
    assert.equal(row.predictions.length, 3);
    const sum = row.predictions.reduce((s, q) => s + q.probability, 0);
    assert.ok(Math.abs(sum - 1) < 1e-4, `probabilities sum to ${sum}`);
    if (row.predictions[0].name === ['one', 'seven', 'zero'][i]) right++;
  });
  assert.ok(right >= 2, JSON.stringify(rows));
  const text = await run('predict', 'digits.wcnn', picks[0], 'scene-big.png', '--top', '2');
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^${picks[0].replace(/[/\\]/g, '.')}: (one|seven|zero) [01]\\.\\d{3}, (one|seven|zero) [01]\\.\\d{3}\\nscene-big\\.png: `));
  assert.equal(text.stderr, "note: scene-big.png is 96 x 80 pixels; resized to the model's input of 28 x 28\n");
  await fails(['segment', 'digits.wcnn', 'scene.png'], /digits\.wcnn: the model outputs \[3\] per image, not a class map/);
  const i = await run('info', 'digits.wcnn');
  assert.match(i.stdout, /classNames: \["one","seven","zero"\]/);
  assert.match(i.stdout, /heldOut: \{"accuracy":/);
});

test('train refuses folders it cannot learn from, naming the folder or file', async () => {
  await mkdir(join(dir, 'one-class', 'cats'), { recursive: true });
  await writeImage(join(dir, 'one-class', 'cats', 'a.png'), rgba(8, 8, (x, y, px) => px.fill(255)));
  await mkdir(join(dir, 'lonely', 'a'), { recursive: true });
  await mkdir(join(dir, 'lonely', 'b'), { recursive: true });
  await writeImage(join(dir, 'lonely', 'a', '1.png'), rgba(8, 8, (x, y, px) => px.fill(255)));
  await writeImage(join(dir, 'lonely', 'a', '2.png'), rgba(8, 8, (x, y, px) => px.fill(255)));
  await writeImage(join(dir, 'lonely', 'b', '1.png'), rgba(8, 8, (x, y, px) => px.fill(0)));
  await mkdir(join(dir, 'bad', 'a'), { recursive: true });
  await mkdir(join(dir, 'bad', 'b'), { recursive: true });
  await writeImage(join(dir, 'bad', 'a', '1.png'), rgba(8, 8, (x, y, px) => px.fill(255)));
  await writeFile(join(dir, 'bad', 'b', 'broken.jpg'), 'not a jpeg');
  await mkdir(join(dir, 'empty-class', 'a'), { recursive: true });
  await mkdir(join(dir, 'empty-class', 'b'), { recursive: true });
  await writeImage(join(dir, 'empty-class', 'a', '1.png'), rgba(8, 8, (x, y, px) => px.fill(255)));
  await Promise.all([
    fails(['train', 'nowhere', '--out', 'm.wcnn'], /nowhere: no such folder/),
    fails(['train', 'scene.png', '--out', 'm.wcnn'], /scene\.png: is a file; train takes a folder/),
    fails(['train', 'one-class', '--out', 'm.wcnn'], /one-class: found 1 class folder; train needs at least two sub-folders/),
    fails(['train', 'lonely', '--out', 'm.wcnn'], /lonely.b: class 'b' has 1 image; with a held-out share it needs at least 2 \(or pass --validation-split 0\)/),
    fails(['train', 'bad', '--out', 'm.wcnn'], /bad.b.broken\.jpg: not a PNG or JPEG image/),
    fails(['train', 'empty-class', '--out', 'm.wcnn'], /empty-class.b: class 'b' has no \.png, \.jpg or \.jpeg files/),
    fails(['train', 'lonely', '--out', 'digits'], /train: --out digits is a directory/),
  ]);
  // without a held-out share a class of one image is fine
  const r = await run('train', 'lonely', '--out', 'lonely.wcnn', '--epochs', '1', '--validation-split', '0');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /no held-out images \(--validation-split 0\)/);
});

test('progress: a bar with ETA redrawn in place on a terminal, plain lines elsewhere', () => {
  assert.equal(formatDuration(75), '1:15');
  assert.equal(formatDuration(3725), '1:02:05');
  const drive = (isTTY) => {
    let written = '';
    let clock = 0;
    const stream = { isTTY, columns: 200, write: (s) => { written += s; } };
    const progress = new Progress({ stream, epochs: 2, batchesPerEpoch: 4, now: () => clock });
    const cb = progress.callbacks();
    for (let epoch = 0; epoch < 2; epoch++) {
      cb.onEpochBegin(epoch);
      for (let b = 0; b < 4; b++) {
        clock += 1000; // one second per batch
        cb.onBatchEnd(b, { loss: 1 / (epoch * 4 + b + 1), acc: 0.5 });
      }
      cb.onEpochEnd(epoch, { loss: 0.5, acc: 0.75, val_loss: 0.6, val_acc: 0.7 });
    }
    return written;
  };
  const tty = drive(true);
  assert.match(tty, /\r\x1b\[2Kepoch 1\/2 \[###---------------------\] {2}12% {2}loss 1\.0000 {2}acc 0\.500 {2}ETA 0:07/);
  assert.match(tty, /\r\x1b\[2Kepoch 2\/2 \[##################------\] {2}75% {2}loss 0\.1667 {2}acc 0\.500 {2}ETA 0:02/);
  assert.match(tty, /\r\x1b\[2Kepoch 1\/2 {2}loss 0\.5000 {2}acc 0\.750 {2}held-out loss 0\.6000 {2}held-out acc 0\.700 {2}\(4\.0 s, ETA 0:04\)\n/);
  const plain = drive(false);
  assert.equal(plain, 'epoch 1/2  loss 0.5000  acc 0.750  held-out loss 0.6000  held-out acc 0.700  (4.0 s, ETA 0:04)\n' +
    'epoch 2/2  loss 0.5000  acc 0.750  held-out loss 0.6000  held-out acc 0.700  (4.0 s)\n');
});
