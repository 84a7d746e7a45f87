#!/usr/bin/env bash
# One entry point for developers and CI:
#   tools/dev.sh serve   install what is missing, build the page, serve it with the virtual board
#   tools/dev.sh test    install what is missing, then every check and test (what CI runs)
#   tools/dev.sh bench   the benchmarks (page in Chromium, native proxy/CLI); prints tables
#   tools/dev.sh build   build the page into dist/
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"
TRUNK_VERSION=0.21.14
WASM_BINDGEN_VERSION=0.2.130

log() { printf '\033[1m== %s\033[0m\n' "$*"; }

setup_rust() {
  if ! rustup target list --installed 2>/dev/null | grep -q wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if [ "$(trunk --version 2>/dev/null)" != "trunk $TRUNK_VERSION" ]; then
    log "installing trunk $TRUNK_VERSION (a few minutes, once)"
    cargo install --locked "trunk@$TRUNK_VERSION"
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
    # Not --locked: its lockfile pins a crate version this registry lacks.
    cargo install "wasm-bindgen-cli@$WASM_BINDGEN_VERSION"
  fi
  cargo fetch --quiet
}

setup_node() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "installing npm packages (virtual board, xterm.js, playwright-core, binaryen)"
    npm ci --no-audit --no-fund
  fi
}

setup_browser() {
  # socat makes the virtual serial board's pseudo-terminal (tools/virtual-board/serial.mjs).
  if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null || ! command -v socat >/dev/null; then
    log "installing Chromium, ChromeDriver and socat (Debian packages)"
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -q
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium chromium-driver socat
  fi
}

build() {
  log "building the page (trunk, release)"
  trunk build --release
  local gz
  gz=$(find dist -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.mjs' -o -name '*.css' -o -name '*.html' \) -exec cat {} + | gzip -9 | wc -c)
  echo "page size: $(du -cb dist/* dist/xterm/* 2>/dev/null | tail -1 | cut -f1) bytes, $gz bytes gzipped (as one stream)"
}

cmd=${1:-}
case "$cmd" in
  serve)
    shift
    setup_rust; setup_node; build
    log "serving"
    exec node tools/serve.mjs "$@"
    ;;
  build)
    setup_rust; setup_node; build
    ;;
  test)
    setup_rust; setup_node; setup_browser
    log "format and lints"
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets --quiet -- -D warnings
    cargo clippy --target wasm32-unknown-unknown --all-targets --quiet -- -D warnings
    log "native tests (cargo test)"
    cargo test --workspace
    log "browser unit tests (wasm-bindgen-test, headless Chromium)"
    node tools/with-board.mjs -- env CHROMEDRIVER=/usr/bin/chromedriver \
      cargo test --target wasm32-unknown-unknown --no-default-features --test browser
    build
    log "end-to-end tests (node --test, playwright-core + Chromium, virtual board)"
    node --test --test-concurrency=1 tools/virtual-board/ tests/e2e/
    ;;
  bench)
    setup_rust; setup_node; setup_browser; build
    log "page benchmark (Chromium + virtual board)"
    node tests/bench/page-bench.mjs
    log "the page a board serves (Chromium + virtual board + dist/ on another origin)"
    node tests/bench/board-page-bench.mjs
    log "editor projects at an Edrys station (Chromium + virtual board + webrepl proxy)"
    node tests/bench/project-bench.mjs
    log "the page with a USB board (Web Serial stand-in + virtual serial board)"
    node tests/bench/serial-page-bench.mjs
    log "native benchmark (webrepl proxy and client)"
    cargo bench --quiet -p webrepl --bench proxy
    log "native benchmark (webrepl --port, serial virtual board)"
    cargo bench --quiet -p webrepl --bench serial
    ;;
  *)
    echo "usage: tools/dev.sh serve|test|bench|build" >&2
    exit 2
    ;;
esac
