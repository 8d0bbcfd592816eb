// wasm-cnn/node: the Node-only entry. Image files in and out as the { width, height, data } images that the library
// (cnn.browser.fromPixels, model.segment, overlay) takes; the command line lives beside it (cli.js).
export { readImage, writeImage, decodeImage, encodeImage, imageFormat, MAX_PIXELS } from './images.js';
export { imageToInput } from './preprocess.js';
