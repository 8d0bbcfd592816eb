// Runs the native engine test programs (built by build.sh with ASan/UBSan), and the kernel tests once more under
// valgrind (a separate build without sanitizers) when valgrind is installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = `${root}build/native`;
const programs = existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('test_') && !f.endsWith('.valgrind')) : [];

test('native test programs were built', () => {
  assert.ok(programs.length > 0, 'no build/native/test_* programs: run bash build.sh');
});

for (const name of programs) {
  test(`native ${name} (ASan/UBSan)`, () => {
    const run = spawnSync(`${dir}/${name}`, { encoding: 'utf8', timeout: 300_000 });
    const tail = `${run.stdout}\n${run.stderr}`.trim().split('\n').slice(-15).join('\n');
    assert.equal(run.status, 0, `${name} failed:\n${tail}`);
  });
  const grind = `${dir}/${name}.valgrind`;
  const hasValgrind = spawnSync('valgrind', ['--version']).status === 0;
  test(`native ${name} (valgrind)`, { skip: !hasValgrind || !existsSync(grind) ? 'valgrind or its build missing' : false }, () => {
    const run = spawnSync('valgrind', ['--error-exitcode=99', '--leak-check=full', '--errors-for-leak-kinds=definite', '-q', grind],
      { encoding: 'utf8', timeout: 600_000 });
    const tail = `${run.stdout}\n${run.stderr}`.trim().split('\n').slice(-15).join('\n');
    assert.equal(run.status, 0, `${name} under valgrind failed:\n${tail}`);
  });
}
