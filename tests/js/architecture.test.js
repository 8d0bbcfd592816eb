// The dependency rule of web/ (docs/ARCHITECTURE.md): folders import one way, and no module imports itself back
// through a cycle. Read from the source files' import statements, static and dynamic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, dirname, relative, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB = join(dirname(fileURLToPath(import.meta.url)), '../../web');

/** What each folder may import (besides itself). index.js and the entry points sit on top. */
const ALLOWED = {
  core: [],
  engine: ['core'],
  layers: ['core', 'engine'],
  train: ['core', 'engine'],
  image: ['core'],
  data: ['core', 'image'],
  model: ['core', 'engine', 'layers', 'train', 'image'],
  zoo: ['core', 'layers', 'model'],
  onnx: ['core', 'engine', 'layers', 'model', 'train'],
  worker: ['core'],
  // The script a Worker runs is an entry point of its own: it loads the whole library.
  'worker/worker.js': ['core', 'worker', 'index.js'],
  node: ['core', 'image', 'model', 'layers', 'train', 'zoo', 'data', 'index.js'],
  'index.js': ['core', 'engine', 'layers', 'train', 'image', 'data', 'model', 'zoo', 'onnx', 'worker'],
};

function sourceFiles(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.js') ? [path] : [];
  });
}

/** Relative imports of a file: static (load-time) ones, or with dynamic = true the lazy `import('...')` ones. */
function importsOf(file, dynamic = false) {
  const src = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const specs = dynamic ? [...src.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)]
    : [...src.matchAll(/(?:^|\s)(?:import|export)\s[^;]*?from\s+['"]([^'"]+)['"]/g), ...src.matchAll(/^import\s+['"]([^'"]+)['"]/gm)];
  return specs.map((m) => m[1]).filter((s) => s.startsWith('.')).map((s) => normalize(join(dirname(file), s)));
}

/**
 * Lazy imports load code on first use (a separate chunk for bundlers, so the core download does not grow): they may
 * only reach the ONNX entry's code, which sits above model/ and is loaded after everything it needs.
 */
const LAZY_TARGETS = ['onnx'];

const ENTRY_FILES = ['worker/worker.js'];
const folderOf = (file) => {
  const rel = relative(WEB, file);
  return ENTRY_FILES.includes(rel) ? rel : rel.split('/')[0];
};

test('web/: every import goes down the layers (docs/ARCHITECTURE.md)', () => {
  const files = sourceFiles(WEB);
  assert.ok(files.length > 30, `found only ${files.length} files under web/`);
  const wrong = [];
  for (const file of files) {
    const from = folderOf(file);
    const allowed = ALLOWED[from];
    assert.ok(allowed, `web/${relative(WEB, file)}: folder '${from}' has no place in the dependency rule`);
    for (const target of importsOf(file)) {
      const to = folderOf(target);
      if (to !== from && !allowed.includes(to)) wrong.push(`web/${relative(WEB, file)} imports web/${relative(WEB, target)}`);
    }
  }
  assert.deepEqual(wrong, [], `imports against the dependency rule:\n${wrong.join('\n')}`);
  const lazy = files.flatMap((file) => importsOf(file, true).filter((t) => !LAZY_TARGETS.includes(folderOf(t)))
    .map((t) => `web/${relative(WEB, file)} lazily imports web/${relative(WEB, t)}`));
  assert.deepEqual(lazy, [], `lazy imports outside ${LAZY_TARGETS}:\n${lazy.join('\n')}`);
});

test('web/: no import cycles', () => {
  const files = sourceFiles(WEB);
  const edges = new Map(files.map((f) => [f, importsOf(f)]));
  const state = new Map();
  const cycles = [];
  const visit = (file, path) => {
    if (state.get(file) === 'done') return;
    if (state.get(file) === 'active') {
      cycles.push([...path.slice(path.indexOf(file)), file].map((f) => relative(WEB, f)).join(' -> '));
      return;
    }
    state.set(file, 'active');
    for (const next of edges.get(file) ?? []) visit(next, [...path, file]);
    state.set(file, 'done');
  };
  for (const file of files) visit(file, []);
  assert.deepEqual(cycles, [], `import cycles:\n${cycles.join('\n')}`);
});

test('the dependency rule itself has no cycle between folders', () => {
  const seen = new Set();
  const visit = (folder, path) => {
    assert.ok(!path.includes(folder), `ALLOWED has a cycle: ${[...path, folder].join(' -> ')}`);
    if (seen.has(folder)) return;
    for (const next of ALLOWED[folder] ?? []) visit(next, [...path, folder]);
    seen.add(folder);
  };
  for (const folder of Object.keys(ALLOWED)) visit(folder, []);
});
