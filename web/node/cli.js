// The `wasm-cnn` command line (bin/wasm-cnn.js): predict, segment, info and train, built only on the public API
// (web/index.js) and the image files of web/node. Every failure the user can fix ends as one line on stderr naming
// the file or option, and exit code 1; WASM_CNN_DEBUG=1 prints the stack as well.
import { parseArgs } from 'node:util';
import { stat } from 'node:fs/promises';
import * as cnn from '../index.js';
import { readImage, writeImage, formatFromName } from './images.js';
import { imageToInput, toGrey } from './preprocess.js';
import { train, TRAIN_OPTIONS, TRAIN_HELP } from './cli-train.js';

/** An error the user can act on: printed as one line, exit code 1. */
export class CliError extends Error {}

const COMMON_HELP = '  -h, --help            this help';

const COMMANDS = {
  predict: {
    summary: 'classify images with a model: the top classes and their probabilities',
    usage: 'wasm-cnn predict <model.wcnn> <image...> [--top 3] [--json]',
    options: { top: { type: 'string' }, json: { type: 'boolean' } },
    help: `Arguments:
  <model.wcnn>          a classifier (output [classes]) saved by model.save() or \`wasm-cnn train\`
  <image...>            PNG or JPEG files; each is resized to the model's input size when it differs (a note
                        says so), grey models see the luminance, values are divided by 255
Options:
  --top <k>             how many classes to print per image (default 3)
  --json                one JSON object per image: { file, predictions: [{ class, name, probability }] }
Class names come from the model's metadata (classNames) when it has them.`,
    run: predict,
  },
  segment: {
    summary: 'per-pixel classes of an image: a mask file, an overlay and the share of each class',
    usage: 'wasm-cnn segment <model.wcnn> <image> [--out mask.png] [--overlay overlay.png] [--alpha 0.5] [--colours]',
    options: { out: { type: 'string' }, overlay: { type: 'string' }, alpha: { type: 'string' }, colours: { type: 'boolean' },
      json: { type: 'boolean' } },
    help: `Arguments:
  <model.wcnn>          a segmentation model (output [h, w, classes]), e.g. demos/models/segnet-shapes.wcnn
  <image>               a PNG or JPEG file, resized to the model's input and the mask scaled back to its size
Options:
  --out <mask.png>      the mask as a PNG of the image's size: pixel value = class id (grey), or with --colours
                        the class colours (class 0 transparent)
  --colours             write --out in the palette's colours instead of class ids
  --overlay <file>      the image with the coloured mask blended over it (.png or .jpg)
  --alpha <a>           opacity of the overlay's colours, 0..1 (default 0.5)
  --json                print the summary as JSON`,
    run: segment,
  },
  info: {
    summary: "a model file's layers, shapes, parameters, training settings and metadata",
    usage: 'wasm-cnn info <model.wcnn> [--json]',
    options: { json: { type: 'boolean' } },
    help: `Options:
  --json                print { file, bytes, inputShape, outputShape, params, training, metadata } as JSON`,
    run: info,
  },
  train: {
    summary: 'train a classifier from a folder of images, one sub-folder per class',
    usage: 'wasm-cnn train <folder> --out model.wcnn [--epochs 10] [--batch-size 32] [--size N] [--seed 1]',
    options: TRAIN_OPTIONS,
    help: TRAIN_HELP,
    run: (args, io) => train(args, io, helpers),
  },
};

function mainHelp() {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((n) => n.length)) + 2;
  return `wasm-cnn ${cnn.version}: train and run convolutional networks in Node (WebAssembly, no GPU, no server)

Usage: wasm-cnn <command> [arguments] [options]

Commands:
${names.map((n) => `  ${n.padEnd(width)}${COMMANDS[n].summary}`).join('\n')}

\`wasm-cnn <command> --help\` describes a command. Models are wasm-cnn files (.wcnn) written by model.save().`;
}

function commandHelp(name) {
  const c = COMMANDS[name];
  return `${c.summary}\n\nUsage: ${c.usage}\n\n${c.help}\n${COMMON_HELP}`;
}

/** parseArgs with messages that name the command and the option. */
function parse(name, argv) {
  const { options } = COMMANDS[name];
  try {
    return parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
  } catch (err) {
    const option = /'(?:-\w, )?(--?[\w-]+)/.exec(err.message)?.[1];
    const see = ` (see wasm-cnn ${name} --help)`;
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new CliError(`${name}: unknown option ${option ?? err.message}${see}`);
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new CliError(`${name}: option ${option ?? ''} ${/missing/.test(err.message) ? 'needs a value' : 'takes no value'}${see}`);
    }
    throw new CliError(`${name}: ${err.message}${see}`);
  }
}

// ---- helpers shared by the commands ---------------------------------------------------------------------------

function number(name, option, text, { integer = false, min = -Infinity, max = Infinity } = {}) {
  const value = Number(text);
  if (text === undefined || text === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
    const range = max === Infinity ? `>= ${min}` : `from ${min} to ${max}`;
    throw new CliError(`${name}: --${option} must be ${integer ? 'an integer' : 'a number'} ${range}, got '${text}'`);
  }
  return value;
}

async function requireFile(path, what) {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw new CliError(err.code === 'ENOENT' ? `${path}: no such file (${what})` : `${path}: cannot read it (${err.code})`);
  }
  if (info.isDirectory()) throw new CliError(`${path}: is a directory, expected ${what}`);
}

async function loadModelFile(path) {
  await requireFile(path, 'the model file');
  try {
    return await cnn.loadModel(path);
  } catch (err) {
    throw new CliError(`${path}: ${err.message.replace(/^loadModel: /, '')}`);
  }
}

async function loadImageFile(path) {
  await requireFile(path, 'an image file');
  try {
    return await readImage(path);
  } catch (err) {
    throw new CliError(err.message);
  }
}

/** The model's input [h, w, c] when it takes images; a CliError otherwise. */
function imageInput(model, path, command) {
  const shape = model.inputShape.slice(1);
  if (shape.length !== 3 || ![1, 3, 4].includes(shape[2])) {
    throw new CliError(`${path}: the model's input is [${shape}], not an image [height, width, 1 | 3 | 4]; ${command} needs an image model`);
  }
  return shape;
}

function resizeNote(io, file, image, [h, w]) {
  if (image.width !== w || image.height !== h) {
    io.stderr.write(`note: ${file} is ${image.width} x ${image.height} pixels; resized to the model's input of ${w} x ${h}\n`);
  }
}

function classNames(model, count, io, path) {
  const names = model.metadata?.classNames;
  if (names === undefined) return null;
  if (!Array.isArray(names) || names.length !== count || names.some((n) => typeof n !== 'string')) {
    io.stderr.write(`note: ${path}: metadata.classNames is not a list of ${count} strings; printing class numbers\n`);
    return null;
  }
  return names;
}

const helpers = { CliError, number, requireFile, loadImageFile, parse };

// ---- predict ----------------------------------------------------------------------------------------------------

async function predict({ positionals, values }, io) {
  const [modelPath, ...files] = positionals;
  if (!modelPath) throw new CliError('predict: missing <model.wcnn> (usage: wasm-cnn predict <model.wcnn> <image...>)');
  if (files.length === 0) throw new CliError('predict: no images given (usage: wasm-cnn predict <model.wcnn> <image...>)');
  const top = values.top === undefined ? 3 : number('predict', 'top', values.top, { integer: true, min: 1 });
  const model = await loadModelFile(modelPath);
  try {
    const inShape = imageInput(model, modelPath, 'predict');
    const outShape = model.outputShape.slice(1);
    if (outShape.length !== 1) {
      throw new CliError(`${modelPath}: the model outputs [${outShape}] per image, not class scores [classes]; for per-pixel outputs use \`wasm-cnn segment\``);
    }
    const units = outShape[0];
    const numClasses = units === 1 ? 2 : units;
    const names = classNames(model, numClasses, io, modelPath);
    const size = inShape.reduce((a, b) => a * b, 1);
    const chunk = 64; // images per predict call: bounds memory for long file lists
    let softmaxNoted = false;
    for (let s = 0; s < files.length; s += chunk) {
      const batch = files.slice(s, s + chunk);
      const x = new Float32Array(batch.length * size);
      for (let i = 0; i < batch.length; i++) {
        const image = await loadImageFile(batch[i]);
        resizeNote(io, batch[i], image, inShape);
        x.set(imageToInput(image, inShape).values, i * size);
      }
      const input = cnn.tensor(x, [batch.length, ...inShape]);
      const output = model.predict(input);
      const scores = output.dataSync();
      input.dispose();
      output.dispose();
      for (let i = 0; i < batch.length; i++) {
        let p = Array.from(scores.subarray(i * units, (i + 1) * units));
        if (units === 1) {
          if (!(p[0] >= 0 && p[0] <= 1)) throw new CliError(`${modelPath}: the model's single output ${p[0]} is not a probability (expected a sigmoid)`);
          p = [1 - p[0], p[0]];
        } else if (!isDistribution(p)) {
          if (!softmaxNoted) io.stderr.write(`note: ${modelPath}: the outputs are not probabilities; printing their softmax\n`);
          softmaxNoted = true;
          p = softmax(p);
        }
        const ranked = p.map((probability, c) => ({ class: c, name: names?.[c] ?? String(c), probability }))
          .sort((a, b) => b.probability - a.probability || a.class - b.class).slice(0, top);
        if (values.json) io.stdout.write(`${JSON.stringify({ file: batch[i], predictions: ranked })}\n`);
        else io.stdout.write(`${batch[i]}: ${ranked.map((r) => `${r.name} ${r.probability.toFixed(3)}`).join(', ')}\n`);
      }
    }
  } finally {
    model.dispose();
  }
}

function isDistribution(p) {
  let sum = 0;
  for (const v of p) { if (!(v >= 0 && v <= 1)) return false; sum += v; }
  return Math.abs(sum - 1) < 1e-3;
}

function softmax(p) {
  const max = Math.max(...p);
  const e = p.map((v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

// ---- segment ----------------------------------------------------------------------------------------------------

async function segment({ positionals, values }, io) {
  const [modelPath, file, extra] = positionals;
  const usage = '(usage: wasm-cnn segment <model.wcnn> <image> [--out mask.png] [--overlay out.png])';
  if (!modelPath) throw new CliError(`segment: missing <model.wcnn> ${usage}`);
  if (!file) throw new CliError(`segment: missing <image> ${usage}`);
  if (extra !== undefined) throw new CliError(`segment: takes one image, got also '${extra}' ${usage}`);
  const alpha = values.alpha === undefined ? 0.5 : number('segment', 'alpha', values.alpha, { min: 0, max: 1 });
  if (values.out !== undefined && formatFromName(values.out) !== 'png') {
    throw new CliError(`segment: --out ${values.out}: a mask must be written as .png (JPEG would change the class ids)`);
  }
  if (values.overlay !== undefined && !formatFromName(values.overlay)) {
    throw new CliError(`segment: --overlay ${values.overlay}: the file name must end in .png, .jpg or .jpeg`);
  }
  if (values.colours && values.out === undefined) throw new CliError('segment: --colours changes how --out is written; give --out mask.png too');
  const model = await loadModelFile(modelPath);
  try {
    const inShape = imageInput(model, modelPath, 'segment');
    const outShape = model.outputShape.slice(1);
    if (outShape.length !== 3) {
      throw new CliError(`${modelPath}: the model outputs [${outShape}] per image, not a class map [h, w, classes]; for classifiers use \`wasm-cnn predict\``);
    }
    const image = await loadImageFile(file);
    resizeNote(io, file, image, inShape);
    const result = model.segment(inShape[2] === 1 ? toGrey(image) : image);
    const names = classNames(model, result.numClasses, io, modelPath);
    const counts = new Array(result.numClasses).fill(0);
    for (const c of result.classes) counts[c]++;
    const total = result.classes.length;
    const shares = counts.map((n, c) => ({ class: c, name: names?.[c] ?? String(c), pixels: n, share: n / total }))
      .filter((s) => s.pixels > 0);
    const palette = cnn.browser.defaultPalette();
    if (values.out !== undefined) {
      let mask;
      if (values.colours) {
        mask = cnn.browser.maskToImageData(result, palette);
      } else {
        const data = new Uint8ClampedArray(total * 4);
        for (let i = 0; i < total; i++) {
          data[4 * i] = data[4 * i + 1] = data[4 * i + 2] = result.classes[i];
          data[4 * i + 3] = 255;
        }
        mask = { width: result.width, height: result.height, data };
      }
      await writeOut(values.out, mask);
    }
    if (values.overlay !== undefined) await writeOut(values.overlay, cnn.browser.overlay(image, result, { alpha, palette }));
    if (values.json) {
      io.stdout.write(`${JSON.stringify({ file, width: result.width, height: result.height, numClasses: result.numClasses, classes: shares,
        out: values.out ?? null, overlay: values.overlay ?? null })}\n`);
    } else {
      io.stdout.write(`${file}: ${result.width} x ${result.height}, ${result.numClasses} classes, ${result.timeMs.toFixed(0)} ms\n`);
      for (const s of shares) io.stdout.write(`  ${s.name.padEnd(14)} ${(100 * s.share).toFixed(1).padStart(5)}%  (${s.pixels} pixels)\n`);
      if (values.out !== undefined) io.stdout.write(`wrote ${values.out} (${values.colours ? 'class colours' : 'pixel value = class id'})\n`);
      if (values.overlay !== undefined) io.stdout.write(`wrote ${values.overlay}\n`);
    }
  } finally {
    model.dispose();
  }
}

async function writeOut(path, image) {
  try {
    await writeImage(path, image);
  } catch (err) {
    throw new CliError(err.message);
  }
}

// ---- info -------------------------------------------------------------------------------------------------------

async function info({ positionals, values }, io) {
  const [modelPath, extra] = positionals;
  if (!modelPath) throw new CliError('info: missing <model.wcnn> (usage: wasm-cnn info <model.wcnn>)');
  if (extra !== undefined) throw new CliError(`info: takes one model file, got also '${extra}'`);
  const model = await loadModelFile(modelPath);
  try {
    const bytes = (await stat(modelPath)).size;
    const training = model.compileConfig
      ? { loss: model.compileConfig.loss, optimizer: model.compileConfig.optimizer, metrics: model.compileConfig.config.metrics ?? [] }
      : null;
    const summary = {
      file: modelPath, bytes, inputShape: model.inputShape.slice(1), outputShape: model.outputShape.slice(1),
      params: model.countParams(), layers: model.layers.length, training, metadata: model.metadata ?? null,
    };
    if (values.json) {
      io.stdout.write(`${JSON.stringify(summary)}\n`);
      return;
    }
    const out = (line = '') => io.stdout.write(`${line}\n`);
    out(`${modelPath}: ${bytes} bytes, input [${summary.inputShape}], output [${summary.outputShape}], ${summary.params} parameters`);
    model.summary((line) => out(line));
    if (training) out(`Training: loss ${training.loss}, optimizer ${JSON.stringify(training.optimizer)}, metrics [${training.metrics.join(', ')}]`);
    else out('Training: not compiled (no loss or optimizer saved)');
    if (summary.metadata) {
      out('Metadata:');
      for (const [key, value] of Object.entries(summary.metadata)) out(`  ${key}: ${JSON.stringify(value)}`);
    } else {
      out('Metadata: none');
    }
  } finally {
    model.dispose();
  }
}

// ---- entry --------------------------------------------------------------------------------------------------

/**
 * Runs the command line with `argv` (process.argv.slice(2)); resolves to the exit code. `io` = { stdout, stderr }
 * (streams with write(); stderr.isTTY picks the progress style).
 */
export async function main(argv, io = { stdout: process.stdout, stderr: process.stderr }) {
  const [name, ...rest] = argv;
  try {
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      const topic = name === 'help' ? rest[0] : undefined;
      if (topic !== undefined && !COMMANDS[topic]) throw new CliError(`help: unknown command '${topic}'; commands: ${Object.keys(COMMANDS).join(', ')}`);
      io.stdout.write(`${topic ? commandHelp(topic) : mainHelp()}\n`);
      return name === undefined ? 1 : 0;
    }
    if (name === '--version' || name === '-v') {
      io.stdout.write(`${cnn.version}\n`);
      return 0;
    }
    const command = COMMANDS[name];
    if (!command) {
      throw new CliError(`unknown command '${name}'; commands: ${Object.keys(COMMANDS).join(', ')} (see wasm-cnn --help)`);
    }
    const args = parse(name, rest);
    if (args.values.help) {
      io.stdout.write(`${commandHelp(name)}\n`);
      return 0;
    }
    await cnn.ready();
    await command.run(args, io);
    return 0;
  } catch (err) {
    const expected = err instanceof CliError || err instanceof cnn.CnnError;
    io.stderr.write(`wasm-cnn: ${expected ? err.message : `internal error: ${err.stack ?? err}`}\n`);
    if (expected && process.env.WASM_CNN_DEBUG) io.stderr.write(`${err.stack}\n`);
    return 1;
  }
}
