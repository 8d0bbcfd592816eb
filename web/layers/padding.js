// tfjs-layers' padding family: zero padding of height and width.
import { CnnError } from '../core/errors.js';
import { LIMITS } from '../engine/abi.js';
import { Layer } from './layer.js';

export class ZeroPadding2D extends Layer {
  constructor(config = {}) {
    super('ZeroPadding2D', config, ['padding', 'dataFormat']);
    const p = config.padding ?? 1;
    const bad = () => new CnnError(`${this.name}: padding must be n, [h, w] or [[top, bottom], [left, right]] of ` +
      `integers from 0 to ${LIMITS.maxDim}, got ${JSON.stringify(config.padding)}`);
    const isCount = (v) => Number.isInteger(v) && v >= 0 && v <= LIMITS.maxDim;
    if (isCount(p)) this.pads = [p, p, p, p];
    else if (Array.isArray(p) && p.length === 2 && p.every(isCount)) this.pads = [p[0], p[0], p[1], p[1]];
    else if (Array.isArray(p) && p.length === 2 && p.every((q) => Array.isArray(q) && q.length === 2 && q.every(isCount))) {
      this.pads = [p[0][0], p[0][1], p[1][0], p[1][1]];
    } else throw bad();
  }
  computeOutputShape([shape]) {
    this.requireRank(shape, 3, 'an image');
    const [top, bottom, left, right] = this.pads;
    return this.checkOutputSize([shape[0] + top + bottom, shape[1] + left + right, shape[2]]);
  }
  build(builder, [input]) { return builder.zeroPadding2d(input, this.pads); }
}
