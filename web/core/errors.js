// The one error type of the library. Every failure the engine or the API detects is thrown as a CnnError whose
// message says what to change (the layer or option, the expected and the actual value).

export class CnnError extends Error {
  /** @param {string} message  @param {number} [status] the engine's cnn_status, 0 for errors found in JS */
  constructor(message, status = 0) {
    super(message);
    this.name = 'CnnError';
    this.status = status;
  }
}
