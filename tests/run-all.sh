#!/usr/bin/env bash
# Runs every test: native engine tests (ASan/UBSan builds, run from tests/native.test.js), the node --test suites
# through the wasm build, and the Chromium tests. Installs Chromium from Debian when it is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1 && [ ! -x /usr/bin/chromium ]; then
  echo "[test] installing chromium (apt-get) for the browser tests"
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi
fi
exec node --test --test-concurrency=1 tests/native.test.js tests/js/ tests/browser/
