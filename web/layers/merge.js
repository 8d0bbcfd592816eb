// tfjs-layers' merge family: residual add (ResNet) and channel concatenation (Inception). Backward passes add into
// their inputs' gradients in the engine, so fan-out needs no special case.
import { CnnError } from '../core/errors.js';
import { LIMITS } from '../engine/abi.js';
import { Layer } from './layer.js';

/** Shared by add and concatenate: an array of 2+ inputs. */
class Merge extends Layer {
  checkInputs(shapes) {
    if (shapes.length < 2 || shapes.length > LIMITS.maxInputs) {
      throw new CnnError(`${this.name}: needs 2 to ${LIMITS.maxInputs} inputs (apply it to an array), got ${shapes.length}`);
    }
  }
}

export class Add extends Merge {
  constructor(config = {}) { super('Add', config); }
  build(builder, inputs) { return builder.add(inputs); }
  computeOutputShape(shapes) {
    this.checkInputs(shapes);
    shapes.forEach((s, i) => {
      if (s.length !== shapes[0].length || s.some((d, k) => d !== shapes[0][k])) {
        throw new CnnError(`${this.name}: all inputs must have the same shape; input 0 is [${shapes[0]}], input ${i} is [${s}]`);
      }
    });
    return shapes[0];
  }
}

export class Concatenate extends Merge {
  constructor(config = {}) {
    super('Concatenate', config, ['axis']);
    if (config.axis !== undefined && config.axis !== -1 && config.axis !== 3) {
      throw new CnnError(`${this.name}: only the channel axis (-1) is supported, got axis ${config.axis}`);
    }
  }
  build(builder, inputs) { return builder.concat(inputs); }
  computeOutputShape(shapes) {
    this.checkInputs(shapes);
    const [first] = shapes;
    shapes.forEach((s, i) => {
      if (s.length !== first.length || s.slice(0, -1).some((d, k) => d !== first[k])) {
        throw new CnnError(`${this.name}: inputs must agree on all but the channel axis; input 0 is [${first}], ` +
          `input ${i} is [${s}]`);
      }
    });
    return this.checkOutputSize([...first.slice(0, -1), shapes.reduce((n, s) => n + s[s.length - 1], 0)]);
  }
}
