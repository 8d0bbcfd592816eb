// Training progress for the command line: on a terminal, one bar redrawn in place (at most ~10 times a second) with
// the loss, accuracy and an ETA; anywhere else (a pipe, a CI log) one plain line per epoch, so logs stay readable.

/** 75 -> "1:15", 3725 -> "1:02:05". */
export function formatDuration(seconds) {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (v) => String(v).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

const metrics = (logs) => {
  const parts = [`loss ${logs.loss.toFixed(4)}`];
  if (logs.acc !== undefined) parts.push(`acc ${logs.acc.toFixed(3)}`);
  if (logs.val_loss !== undefined) parts.push(`held-out loss ${logs.val_loss.toFixed(4)}`);
  if (logs.val_acc !== undefined) parts.push(`held-out acc ${logs.val_acc.toFixed(3)}`);
  return parts.join('  ');
};

/**
 * Reports fit() progress to `stream` (process.stderr): `callbacks()` gives fit's onBatchEnd / onEpochEnd.
 * `now` (ms) is injectable so tests can drive the clock.
 */
export class Progress {
  constructor({ stream, epochs, batchesPerEpoch, now = () => Date.now() }) {
    this.stream = stream;
    this.tty = !!stream.isTTY;
    this.epochs = epochs;
    this.batchesPerEpoch = batchesPerEpoch;
    this.total = epochs * batchesPerEpoch;
    this.now = now;
    this.start = now();
    this.epochStart = this.start;
    this.lastDraw = -Infinity;
    this.done = 0;
  }

  /** Seconds left, from the mean time per batch so far; NaN before the first batch. */
  eta() {
    if (this.done === 0) return NaN;
    return ((this.now() - this.start) / this.done) * (this.total - this.done) / 1000;
  }

  batchEnd(epoch, batch, logs) {
    this.done = epoch * this.batchesPerEpoch + batch + 1;
    if (!this.tty) return;
    const t = this.now();
    if (t - this.lastDraw < 100 && this.done < this.total) return;
    this.lastDraw = t;
    const width = 24;
    const filled = Math.round((this.done / this.total) * width);
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    const pct = String(Math.floor((100 * this.done) / this.total)).padStart(3);
    const eta = Number.isFinite(this.eta()) ? formatDuration(this.eta()) : '?';
    let line = `epoch ${epoch + 1}/${this.epochs} [${bar}] ${pct}%  loss ${logs.loss.toFixed(4)}` +
      (logs.acc !== undefined ? `  acc ${logs.acc.toFixed(3)}` : '') + `  ETA ${eta}`;
    if (this.stream.columns) line = line.slice(0, this.stream.columns - 1);
    this.stream.write(`\r\x1b[2K${line}`);
  }

  epochEnd(epoch, logs) {
    const t = this.now();
    const seconds = ((t - this.epochStart) / 1000).toFixed(1);
    this.epochStart = t;
    const left = this.total - this.done;
    const eta = left > 0 && Number.isFinite(this.eta()) ? `, ETA ${formatDuration(this.eta())}` : '';
    this.stream.write(`${this.tty ? '\r\x1b[2K' : ''}epoch ${epoch + 1}/${this.epochs}  ${metrics(logs)}  (${seconds} s${eta})\n`);
    this.lastDraw = -Infinity;
  }

  callbacks() {
    let epoch = 0;
    return {
      onEpochBegin: (e) => { epoch = e; },
      onBatchEnd: (batch, logs) => this.batchEnd(epoch, batch, logs),
      onEpochEnd: (e, logs) => this.epochEnd(e, logs),
    };
  }
}
