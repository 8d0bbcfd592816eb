// The ABI is checked, not trusted: web/engine/abi.js's tables match what the engine says of itself
// (cnn_abi_json), and any difference - a moved field, a renumbered enum, a changed limit - stops the load.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as cnn from '../../../web/index.js';
import { engine } from '../../../web/engine/loader.js';
import { verifyAbi, OPTIMIZER_CONFIG, LIMITS, STATS } from '../../../web/engine/abi.js';

let description;
before(async () => {
  await cnn.ready();
  const e = engine();
  const ptr = e.cnn_abi_json();
  const bytes = new Uint8Array(e.memory.buffer, ptr, 1 << 16);
  description = JSON.parse(new TextDecoder().decode(bytes.subarray(0, bytes.indexOf(0))));
});

const edited = (edit) => { const c = structuredClone(description); edit(c); return c; };

test("the engine's description matches abi.js", () => {
  verifyAbi(description);
  assert.equal(description.sizeof.cnn_optimizer_config, OPTIMIZER_CONFIG.size);
  assert.equal(description.limits.max_dim, LIMITS.maxDim);
  assert.equal(description.enums.cnn_stats.CNN_STATS_HEADER, STATS.HEADER);
});

test('every kind of difference is refused with a message naming it', () => {
  const cases = [
    [(c) => { c.abi_version += 1; }, /abi_version/],
    [(c) => { c.sizeof.cnn_optimizer_config = 40; }, /sizeof\(cnn_optimizer_config\)/],
    [(c) => { c.offsetof.cnn_optimizer_config.beta2 = 24; }, /offsetof\(cnn_optimizer_config, beta2\)/],
    [(c) => { c.offsetof.cnn_optimizer_config.extra = 36; }, /cnn_optimizer_config fields/],
    [(c) => { c.enums.cnn_loss.CNN_LOSS_MSE = 3; }, /CNN_LOSS_MSE/],
    [(c) => { c.enums.cnn_activation.CNN_ACT_GELU = 6; }, /cnn_activation names/],
    [(c) => { delete c.enums.cnn_padding.CNN_PADDING_SAME; }, /CNN_PADDING_SAME/],
    [(c) => { c.enums.cnn_stats.CNN_STATS_HEADER = 5; }, /CNN_STATS_HEADER/],
    [(c) => { c.limits.max_dim = 32768; }, /limits.max_dim/],
    [(c) => { c.limits.max_groups = 1; }, /limits/],
  ];
  for (const [edit, pattern] of cases) {
    assert.throws(() => verifyAbi(edited(edit)), (err) => err.name === 'CnnError' && pattern.test(err.message) &&
      /rebuild dist\//.test(err.message), `expected ${pattern}`);
  }
});

test('an engine that does not describe itself is refused by ready()', async () => {
  // A module with the engine's memory but no cnn_abi_json: what an older build looks like.
  const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 5, 3, 1, 0, 1, 7, 10, 1, 6, 109, 101, 109, 111, 114, 121, 2, 0]);
  const fresh = await import(`../../../web/engine/loader.js?fresh=${Date.now()}`);
  await assert.rejects(fresh.ready({ wasmBinary: bytes }), /predates this JavaScript .* rebuild dist\//);
});
