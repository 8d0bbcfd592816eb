// The messages between cnn.worker's client (client.js, on the calling thread) and its worker (worker.js). Both sides
// import this file; it holds no state. Every message is a plain object:
//
//   client → worker  { type: 'call', id, op, model?, args }   run op (on model `model`, a number) with args
//                    { type: 'abort', id }                    fit call `id`: stop after the batch in progress
//                    { type: 'ack', id, stop }                fit call `id`: the caller's onEpochEnd has run
//   worker → client  { type: 'result', id, value }           call `id` succeeded
//                    { type: 'error', id, error }            call `id` threw: error = encodeError(err)
//                    { type: 'event', id, name, args, ack }  fit call `id` reached callback `name` (onBatchEnd, ...);
//                                                            with ack, the worker waits for an 'ack' before going on
//
// Tensors cross as { tensor: true, values, shape, dtype } with their values' buffer in the transfer list, so each
// crossing copies the values once (out of the sender's tensor) and the receiver wraps them without a copy. A tensor
// that stays in the worker (cnn.worker's w.tensor / w.data) crosses as { remote: id }.

/** The callbacks fit() forwards, in the order fit calls them. */
export const CALLBACKS = ['onTrainBegin', 'onEpochBegin', 'onBatchEnd', 'onEpochEnd', 'onTrainEnd'];

/** An Error (or anything thrown) as a cloneable object that keeps its name, message, status and stack. */
export function encodeError(err) {
  if (err && typeof err === 'object') {
    return { name: String(err.name ?? 'Error'), message: String(err.message ?? err), status: err.status, stack: err.stack };
  }
  return { name: 'Error', message: String(err) };
}

/**
 * The Error for an encoded one: a `CnnError` (with its status) when the worker threw one, else an Error of the same
 * built-in type when there is one (TypeError, RangeError, ...). The worker's stack is kept as `workerStack`.
 */
export function decodeError(encoded, CnnError) {
  let err;
  if (encoded.name === 'CnnError') {
    err = new CnnError(encoded.message, encoded.status ?? 0);
  } else {
    const Builtin = /^[A-Z][A-Za-z]*Error$/.test(encoded.name) && typeof globalThis[encoded.name] === 'function'
      ? globalThis[encoded.name] : Error;
    err = new Builtin(encoded.message);
    if (err.name !== encoded.name) err.name = encoded.name;
  }
  if (encoded.stack) err.workerStack = encoded.stack;
  return err;
}

/**
 * A tensor's values as an own buffer ready to transfer: `copy` says whether the values belong to someone who keeps
 * using them (then they are copied once); otherwise a tensor's own buffer is handed over as it is.
 */
export function packValues(values, copy) {
  const own = !copy && values.byteOffset === 0 && values.byteLength === values.buffer.byteLength;
  return own ? values : values.slice();
}

/** Adds every ArrayBuffer under `value` (typed arrays, one level of arrays / objects deep) to `list`. */
export function collectTransfers(value, list = []) {
  const add = (v) => {
    if (ArrayBuffer.isView(v) && !(typeof SharedArrayBuffer === 'function' && v.buffer instanceof SharedArrayBuffer) &&
        !list.includes(v.buffer)) {
      list.push(v.buffer);
    }
  };
  const visit = (v, depth) => {
    if (!v || typeof v !== 'object') return;
    if (ArrayBuffer.isView(v)) { add(v); return; }
    if (depth > 3) return;
    for (const item of Array.isArray(v) ? v : Object.values(v)) visit(item, depth + 1);
  };
  visit(value, 0);
  return list;
}
