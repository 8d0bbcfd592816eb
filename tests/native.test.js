// Runs the native engine test programs (built by build.sh with ASan/UBSan; test_*_m32 are 32-bit builds, where size_t
// is 32 bits as in wasm32), and the kernel tests once more under valgrind (a separate build without sanitizers) when
// valgrind is installed. Then fuzzes the public API for a bounded time with the libFuzzer target build/native/fuzz_graph
// (built when clang with libFuzzer is installed) and its 32-bit twin fuzz_graph_m32 (for half the time), starting
// from a copy of tests/fuzz/corpus (seeds and reproducers of fixed bugs); CNN_FUZZ_SECONDS changes the time (20).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, existsSync, mkdtempSync, cpSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const dir = `${root}build/native`;
const programs = existsSync(dir) ? readdirSync(dir).filter((f) => f.startsWith('test_') && !f.endsWith('.valgrind')) : [];
// valgrind runs the sanitizer-free twins (name.valgrind) only: a 32-bit or ThreadSanitizer build has none.

test('native test programs were built', () => {
  assert.ok(programs.length > 0, 'no build/native/test_* programs: run bash build.sh');
});

for (const name of programs) {
  const sanitizers = name.endsWith('_tsan') ? 'ThreadSanitizer' : name.endsWith('_m32') ? '32-bit, ASan/UBSan' : 'ASan/UBSan';
  test(`native ${name} (${sanitizers})`, () => {
    const run = spawnSync(`${dir}/${name}`, { encoding: 'utf8', timeout: 300_000 });
    const tail = `${run.stdout}\n${run.stderr}`.trim().split('\n').slice(-15).join('\n');
    assert.equal(run.status, 0, `${name} failed:\n${tail}`);
  });
  if (name.endsWith('_tsan') || name.endsWith('_m32')) continue; // no valgrind twin for these builds
  const grind = `${dir}/${name}.valgrind`;
  const hasValgrind = spawnSync('valgrind', ['--version']).status === 0;
  test(`native ${name} (valgrind)`, { skip: !hasValgrind || !existsSync(grind) ? 'valgrind or its build missing' : false }, () => {
    const run = spawnSync('valgrind', ['--error-exitcode=99', '--leak-check=full', '--errors-for-leak-kinds=definite', '-q', grind],
      { encoding: 'utf8', timeout: 600_000 });
    const tail = `${run.stdout}\n${run.stderr}`.trim().split('\n').slice(-15).join('\n');
    assert.equal(run.status, 0, `${name} under valgrind failed:\n${tail}`);
  });
}

// Per-input timeout: a hang shows either way; the harness's budgets are sized for the 64-bit build, and the 32-bit
// one runs ~15x slower (an input the 64-bit fuzzer ran in 0.9 s took 14-15 s there, before and after 8934a4c).
for (const [name, share, timeout] of [['fuzz_graph', 1, 10], ['fuzz_graph_m32', 0.5, 60]]) {
  const fuzzer = `${dir}/${name}`;
  test(`fuzz the public API with ${name} (libFuzzer, ASan/UBSan/LeakSanitizer)`, {
    skip: existsSync(fuzzer) ? false
      : `build/native/${name} not built: needs clang with libFuzzer (Debian packages clang, libclang-rt-14-dev; ` +
        'for the 32-bit build also libc6-dev-i386, lib32stdc++-12-dev)',
  }, () => {
    const seconds = Math.max(1, Math.round(Number(process.env.CNN_FUZZ_SECONDS ?? 20) * share));
    const work = mkdtempSync(join(tmpdir(), 'wasm-cnn-fuzz-'));
    cpSync(`${root}tests/fuzz/corpus`, `${work}/corpus`, { recursive: true });
    const run = spawnSync(fuzzer, [`-max_total_time=${seconds}`, '-rss_limit_mb=1024', `-timeout=${timeout}`,
      `-artifact_prefix=${work}/`, '-print_final_stats=1', `${work}/corpus`],
    { encoding: 'utf8', timeout: (seconds + 120) * 1000 });
    const log = `${run.stdout}\n${run.stderr}`.trim().split('\n');
    const artifacts = readdirSync(work).filter((f) => f !== 'corpus');
    const report = [...log.filter((l) => /ERROR|SUMMARY|runtime error|fuzz_graph:/.test(l)).slice(0, 10),
      ...log.slice(-12)].join('\n');
    // On failure the work directory stays, with the crashing input (reproduce: build/native/<fuzzer> <file>).
    assert.equal(run.status, 0, `${name} failed; artifacts in ${work}: ${artifacts.join(', ') || 'none'}\n${report}`);
    const stats = log.filter((l) => /^stat::(number_of_executed_units|average_exec_per_sec)/.test(l));
    console.log(`${name}: ${stats.map((l) => l.replace('stat::', '').replace(/:\s+/, ' ')).join(', ')}`);
    rmSync(work, { recursive: true, force: true });
  });
}
