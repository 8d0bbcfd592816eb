// Type-checks the hand-kept declarations (web/index.d.ts) by compiling tests/types/usage.ts — a user-style program
// importing 'wasm-cnn' plus `// @ts-expect-error` misuse — with the locally installed TypeScript (devDependency).
// Once with the DOM lib (browser projects) and once without it (Node-only projects). Skipped when TypeScript is not
// installed (`npm install`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = fileURLToPath(new URL('../..', import.meta.url));
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
const skip = existsSync(tsc) ? false
  : 'typescript is not installed (node_modules/typescript missing): run `npm install` to type-check web/index.d.ts';

function typeCheck(project) {
  const result = spawnSync(process.execPath, [tsc, '-p', project, '--noEmit'], { cwd: root, encoding: 'utf8' });
  if (result.error) throw result.error;
  const output = `${result.stdout}${result.stderr}`.trim();
  assert.equal(result.status, 0, `tsc -p ${project} --noEmit failed (exit ${result.status}):\n${output}`);
}

test('web/index.d.ts: tests/types/usage.ts type-checks (lib DOM)', { skip, timeout: 120_000 }, () => {
  typeCheck('tests/types');
});

test('web/index.d.ts: tests/types/usage.ts type-checks without the DOM lib', { skip, timeout: 120_000 }, () => {
  typeCheck('tests/types/tsconfig.node.json');
});

// An identifier a module uses but never declares or imports (a function left behind when code moved between files)
// only fails at run time, on the path that reaches it. TypeScript's checker over the JavaScript finds every one.
test('web/: no module uses a name it does not define or import', { skip, timeout: 120_000 }, () => {
  const entries = ['web/index.js', 'web/node/index.js', 'web/onnx/index.js', 'web/worker/worker.js', 'bin/wasm-cnn.js'];
  const result = spawnSync(process.execPath, [tsc, '--allowJs', '--checkJs', '--noEmit', '--skipLibCheck',
    '--target', 'es2022', '--module', 'es2022', '--moduleResolution', 'bundler', '--lib', 'es2023,dom,webworker',
    ...entries], { cwd: root, encoding: 'utf8' });
  if (result.error) throw result.error;
  // TS2304 "Cannot find name", TS2552 "Cannot find name ... Did you mean", TS2305/TS2724 "has no exported member".
  const undefinedNames = `${result.stdout}${result.stderr}`.split('\n').filter((l) => /error TS(2304|2552|2305|2724):/.test(l));
  assert.deepEqual(undefinedNames, []);
});
