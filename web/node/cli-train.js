// `wasm-cnn train <folder>`: a classifier from a folder with one sub-folder of images per class. The images are
// resized to one square size, a held-out share of every class is kept apart (stratified, seeded), a small CNN sized
// for the input is trained with Adam, and the file keeps the class names and the held-out score in its metadata.
import { readdir, writeFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import * as cnn from '../index.js';
import { imageToInput } from './preprocess.js';
import { Progress } from './progress.js';

export const TRAIN_OPTIONS = {
  out: { type: 'string', short: 'o' }, epochs: { type: 'string' }, 'batch-size': { type: 'string' },
  size: { type: 'string' }, seed: { type: 'string' }, 'validation-split': { type: 'string' },
  'learning-rate': { type: 'string' }, grey: { type: 'boolean' }, colour: { type: 'boolean' },
};

export const TRAIN_HELP = `Arguments:
  <folder>              one sub-folder per class, named after it, holding PNG / JPEG files (.png .jpg .jpeg):
                          folder/cat/1.jpg  folder/cat/2.png  folder/dog/1.jpg ...
Options:
  -o, --out <file>      where to write the model (required), e.g. model.wcnn
  --epochs <n>          passes over the training images (default 10)
  --batch-size <n>      images per training step (default 32)
  --size <n>            train at n x n pixels (default: the images' median side, from 8 to 64)
  --seed <n>            seeds weights, the held-out split and shuffling: same seed, same model (default 1)
  --validation-split <f>  share of each class held out to measure accuracy (default 0.2; 0 = none)
  --learning-rate <lr>  Adam's learning rate (default 0.002)
  --grey | --colour     force 1 (luminance) or 3 (RGB) input channels (default: grey when every image is grey)
The model: 3x3 convolutions (ReLU) each followed by 2x2 max pooling until the side is below 8, then a dense layer
of 64 and a softmax over the classes. Values are scaled to [0, 1], as \`wasm-cnn predict\` does.
Progress goes to stderr: a bar with ETA on a terminal, one line per epoch otherwise.`;

const EXTENSIONS = /\.(png|jpe?g)$/i;

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle(list, random) {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [list[i], list[j]] = [list[j], list[i]];
  }
  return list;
}

/** Class folders and their image files, sorted by name so that class ids do not depend on the file system. */
async function listClasses(folder, CliError, io) {
  let entries;
  try {
    entries = await readdir(folder, { withFileTypes: true });
  } catch (err) {
    if (err.code === 'ENOENT') throw new CliError(`${folder}: no such folder`);
    if (err.code === 'ENOTDIR') throw new CliError(`${folder}: is a file; train takes a folder with one sub-folder of images per class`);
    throw new CliError(`${folder}: cannot read it (${err.code})`);
  }
  const dirs = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  if (dirs.length < 2) {
    throw new CliError(`${folder}: found ${dirs.length} class folder${dirs.length === 1 ? '' : 's'}; train needs at least two sub-folders, one per class, each holding that class's images`);
  }
  const classes = [];
  let skipped = 0;
  for (const name of dirs) {
    const dir = join(folder, name);
    const files = (await readdir(dir, { withFileTypes: true }))
      .filter((e) => e.isFile() && !e.name.startsWith('.'));
    const images = files.filter((e) => EXTENSIONS.test(e.name)).map((e) => join(dir, e.name)).sort();
    skipped += files.length - images.length;
    if (images.length === 0) throw new CliError(`${dir}: class '${name}' has no .png, .jpg or .jpeg files`);
    classes.push({ name, files: images });
  }
  if (skipped > 0) io.stderr.write(`note: skipped ${skipped} file${skipped === 1 ? ' that is' : 's that are'} not .png, .jpg or .jpeg\n`);
  return classes;
}

function isGrey({ data }) {
  for (let i = 0; i < data.length; i += 4) if (data[i] !== data[i + 1] || data[i] !== data[i + 2]) return false;
  return true;
}

/** A small CNN for [size, size, channels]: conv + pool stages until the side is below 8, dense 64, softmax. */
export function buildClassifier({ size, channels, numClasses, seed }) {
  const layers = [];
  let side = size;
  let filters = 8;
  let first = true;
  while (side >= 8 && layers.length < 8) {
    layers.push(cnn.layers.conv2d({ ...(first ? { inputShape: [size, size, channels] } : {}), filters, kernelSize: 3,
      padding: 'same', activation: 'relu', kernelInitializer: 'heNormal' }));
    layers.push(cnn.layers.maxPooling2d({ poolSize: 2 }));
    side = Math.floor(side / 2);
    filters = Math.min(filters * 2, 64);
    first = false;
  }
  if (first) {
    layers.push(cnn.layers.conv2d({ inputShape: [size, size, channels], filters, kernelSize: 3, padding: 'same',
      activation: 'relu', kernelInitializer: 'heNormal' }));
  }
  layers.push(cnn.layers.flatten());
  layers.push(cnn.layers.dense({ units: 64, activation: 'relu', kernelInitializer: 'heNormal' }));
  layers.push(cnn.layers.dense({ units: numClasses, activation: 'softmax' }));
  return cnn.sequential({ seed, layers });
}

export async function train({ positionals, values }, io, { CliError, number, loadImageFile }) {
  const [folder, extra] = positionals;
  if (!folder) throw new CliError('train: missing <folder> (usage: wasm-cnn train <folder> --out model.wcnn)');
  if (extra !== undefined) throw new CliError(`train: takes one folder, got also '${extra}'`);
  if (values.out === undefined) throw new CliError('train: --out <model.wcnn> is required (where to write the model)');
  if (values.grey && values.colour) throw new CliError('train: --grey and --colour exclude each other');
  const epochs = values.epochs === undefined ? 10 : number('train', 'epochs', values.epochs, { integer: true, min: 1 });
  const batchSize = values['batch-size'] === undefined ? 32 : number('train', 'batch-size', values['batch-size'], { integer: true, min: 1 });
  const seed = values.seed === undefined ? 1 : number('train', 'seed', values.seed, { integer: true, min: 0, max: 2 ** 32 - 1 });
  const split = values['validation-split'] === undefined ? 0.2
    : number('train', 'validation-split', values['validation-split'], { min: 0, max: 0.9 });
  const learningRate = values['learning-rate'] === undefined ? 0.002
    : number('train', 'learning-rate', values['learning-rate'], { min: 1e-7, max: 1 });
  let size = values.size === undefined ? undefined : number('train', 'size', values.size, { integer: true, min: 4, max: 512 });
  try {
    const info = await stat(values.out);
    if (info.isDirectory()) throw new CliError(`train: --out ${values.out} is a directory; give a file name such as model.wcnn`);
  } catch (err) {
    if (err instanceof CliError) throw err;
  }

  const classes = await listClasses(folder, CliError, io);
  const images = [];
  for (let c = 0; c < classes.length; c++) {
    for (const file of classes[c].files) images.push({ file, label: c, image: await loadImageFile(file) });
  }
  if (size === undefined) {
    const sides = images.map(({ image }) => Math.min(image.width, image.height)).sort((a, b) => a - b);
    size = Math.min(64, Math.max(8, sides[Math.floor(sides.length / 2)]));
  }
  const channels = values.grey ? 1 : values.colour ? 3 : images.every(({ image }) => isGrey(image)) ? 1 : 3;
  const resized = images.filter(({ image }) => image.width !== size || image.height !== size).length;

  // Stratified held-out split: every class keeps round(split * n) images apart, at least one when split > 0.
  const random = mulberry32(seed);
  const trainSet = [];
  const heldOut = [];
  for (let c = 0; c < classes.length; c++) {
    const own = shuffle(images.filter((s) => s.label === c), random);
    const k = split > 0 ? Math.max(1, Math.round(split * own.length)) : 0;
    if (k > 0 && own.length - k < 1) {
      throw new CliError(`${join(folder, classes[c].name)}: class '${classes[c].name}' has ${own.length} image${own.length === 1 ? '' : 's'}; ` +
        'with a held-out share it needs at least 2 (or pass --validation-split 0)');
    }
    heldOut.push(...own.slice(0, k));
    trainSet.push(...own.slice(k));
  }
  const shape = [size, size, channels];
  const sampleSize = size * size * channels;
  const toTensors = (set) => {
    const x = new Float32Array(set.length * sampleSize);
    const y = new Int32Array(set.length);
    set.forEach((s, i) => { x.set(imageToInput(s.image, shape).values, i * sampleSize); y[i] = s.label; });
    return [cnn.tensor(x, [set.length, ...shape]), cnn.tensor(y, [set.length], 'int32')];
  };
  const [x, y] = toTensors(trainSet);
  const validation = heldOut.length > 0 ? toTensors(heldOut) : null;
  images.length = 0; // the decoded images are no longer needed

  io.stderr.write(`${classes.length} classes (${classes.map((c) => `${c.name}: ${c.files.length}`).join(', ')}); ` +
    `${trainSet.length} training and ${heldOut.length} held-out images at ${size} x ${size} x ${channels}` +
    `${resized > 0 ? ` (${resized} resized)` : ''}\n`);
  const model = buildClassifier({ size, channels, numClasses: classes.length, seed });
  try {
    model.compile({ optimizer: cnn.train.adam(learningRate), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    io.stderr.write(`model: ${model.layers.length} layers, ${model.countParams()} parameters\n`);
    const batchesPerEpoch = Math.ceil(trainSet.length / Math.min(batchSize, trainSet.length));
    const progress = new Progress({ stream: io.stderr, epochs, batchesPerEpoch });
    const started = Date.now();
    const history = await model.fit(x, y, { epochs, batchSize, seed, shuffle: true,
      ...(validation ? { validationData: validation } : {}), callbacks: progress.callbacks() });
    const seconds = (Date.now() - started) / 1000;
    let heldOutScore = null;
    if (validation) {
      const [loss, acc] = model.evaluate(validation[0], validation[1]);
      heldOutScore = { accuracy: acc.dataSync()[0], loss: loss.dataSync()[0], count: heldOut.length };
      loss.dispose();
      acc.dispose();
    }
    const metadata = {
      trainedBy: 'wasm-cnn train', classNames: classes.map((c) => c.name),
      input: { size, channels, scale: '1/255', grey: channels === 1 ? 'luminance' : undefined },
      trainImages: trainSet.length, epochs, batchSize, learningRate, seed, validationSplit: split,
      finalLoss: history.history.loss.at(-1), heldOut: heldOutScore,
    };
    const bytes = model.save({ metadata });
    try {
      await writeFile(values.out, bytes);
    } catch (err) {
      throw new CliError(`${values.out}: cannot write the model (${err.code ?? err.message})`);
    }
    const score = heldOutScore
      ? `held-out accuracy ${heldOutScore.accuracy.toFixed(3)} on ${heldOutScore.count} images`
      : 'no held-out images (--validation-split 0)';
    io.stdout.write(`${score}; trained in ${seconds.toFixed(1)} s\n`);
    io.stdout.write(`wrote ${values.out} (${bytes.length} bytes; classes: ${metadata.classNames.join(', ')})\n`);
  } finally {
    model.dispose();
    x.dispose();
    y.dispose();
    validation?.forEach((t) => t.dispose());
  }
}
