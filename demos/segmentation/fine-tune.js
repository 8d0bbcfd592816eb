// The segmentation demo's fine-tune client: trains a copy of the page's model on new generated scenes in a worker
// (cnn.worker), so that the page keeps answering, or on the page's thread where no worker starts. Both run the same
// recipe (recipes/segmentation.js: compileOptions + train) on the same scenes with the same seeds, so a run gives
// the same losses and weights in either place.
import { compileOptions, train } from '../../recipes/segmentation.js';

/** Thrown inside a run that Stop ended before its first batch. */
class StoppedEarly extends Error {}

/** `promise`, or a StoppedEarly rejection as soon as `signal` aborts (the promise itself keeps running). */
function unlessAborted(promise, signal) {
  if (signal.aborted) return Promise.reject(new StoppedEarly('stopped'));
  return new Promise((resolve, reject) => {
    const onAbort = () => reject(new StoppedEarly('stopped'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Fine-tunes `model` with `run` = { arch, size, count, epochs, batchSize, peakLearningRate, sceneSeed, fitSeed }.
 * hooks: onTraining(where) once the scenes are made and training starts ('worker' | 'page'); onBatch(epoch, batch,
 * logs) after each batch; onWorker(worker | null) with the running worker, for the caller to terminate when it gives
 * up on the run. `signal` (Stop) ends the run after the batch in progress, or at once before training began.
 * Resolves to { trained, history, ranIn, batches }: `trained` is a new model (the caller disposes `model`), or
 * `model` itself when no batch ran (stopped early; `history` null, `ranIn` null).
 */
export async function fineTune(cnn, model, run, { signal, onTraining, onBatch, onWorker = () => {} }) {
  try {
    const inWorker = await tuneInWorker(cnn, model, run, { signal, onTraining, onBatch, onWorker });
    return inWorker ?? await tuneInPage(cnn, model, run, { signal, onTraining, onBatch });
  } catch (err) {
    if (err instanceof StoppedEarly) return { trained: model, history: null, ranIn: null, batches: 0 };
    throw err;
  }
}

/** Options of fit for `run`, with callbacks that count batches and pass on their epoch. */
function fitOptions(cnn, run, signal, onBatch, counter) {
  let epoch = 0;
  return {
    epochs: run.epochs, batchSize: run.batchSize, peakLearningRate: run.peakLearningRate, seed: run.fitSeed, signal,
    callbacks: {
      onEpochBegin(e) { epoch = e; },
      async onBatchEnd(batch, logs) {
        counter.batches++;
        await onBatch(epoch, batch, logs);
      },
    },
  };
}

/** The run in a cnn.worker; null when no worker could be started (the page trains instead). */
async function tuneInWorker(cnn, model, run, { signal, onTraining, onBatch, onWorker }) {
  const starting = cnn.worker.create();
  let w;
  try {
    w = await unlessAborted(starting, signal);
  } catch (err) {
    // Stop while the worker starts (its engine may still be loading): end it once it is up.
    if (err instanceof StoppedEarly) starting.then((late) => late.terminate(), () => {});
    else console.warn(`fine-tuning in the page: ${err.message}`);
    if (err instanceof StoppedEarly) throw err;
    return null;
  }
  onWorker(w);
  try {
    const remote = await unlessAborted(w.loadModel(model.save()), signal);
    await unlessAborted(remote.compile(compileOptions(cnn, run.arch, run.peakLearningRate)), signal);
    // The scenes are made in the worker and stay there: nothing to copy, and the page does not stall making them.
    const scenes = await unlessAborted(w.data.shapes({ count: run.count, size: run.size, seed: run.sceneSeed }), signal);
    if (signal.aborted) throw new StoppedEarly('stopped');
    onTraining('worker');
    const counter = { batches: 0 };
    const history = await train(cnn, run.arch, remote, scenes, fitOptions(cnn, run, signal, onBatch, counter));
    if (counter.batches === 0) throw new StoppedEarly('stopped');
    const trained = await cnn.loadModel(await remote.save());
    return { trained, history: history.history, ranIn: 'worker', batches: counter.batches };
  } finally {
    w.terminate();
    onWorker(null);
  }
}

/** The fallback: the same run on the page's thread, which then freezes for one batch at a time. */
async function tuneInPage(cnn, model, run, { signal, onTraining, onBatch }) {
  const set = cnn.data.shapes({ count: run.count, size: run.size, seed: run.sceneSeed });
  if (signal.aborted) throw new StoppedEarly('stopped');
  const copy = await cnn.loadModel(model.save()); // the page's model stays as it is until the run is over
  const x = cnn.tensor(set.images, [set.count, set.height, set.width, set.channels]);
  const y = cnn.tensor(set.masks, [set.count, set.height, set.width], 'int32');
  const counter = { batches: 0 };
  try {
    copy.compile(compileOptions(cnn, run.arch, run.peakLearningRate));
    onTraining('page');
    const history = await train(cnn, run.arch, copy, { x, y }, fitOptions(cnn, run, signal, async (...args) => {
      await onBatch(...args);
      // fit yields to the event loop between batches, but a busy page may get no frame painted; wait for one (not in
      // a hidden tab, where animation frames do not come).
      if (!document.hidden) await new Promise((r) => requestAnimationFrame(() => setTimeout(r)));
    }, counter));
    if (counter.batches === 0) throw new StoppedEarly('stopped');
    return { trained: copy, history: history.history, ranIn: 'page', batches: counter.batches };
  } catch (err) {
    copy.dispose();
    throw err;
  } finally {
    x.dispose();
    y.dispose();
  }
}
