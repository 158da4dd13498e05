#!/usr/bin/env bash
# The checks CI runs, in the order a failure is cheapest to find.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain"
cargo --version
rustup component add rustfmt clippy >/dev/null 2>&1 || true

step "chromium, for the report page's screenshot test"
if ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing and cannot be installed here: the screenshot test will skip"
  fi
fi

step "format"
cargo fmt --all -- --check

step "lint"
cargo clippy --workspace --all-targets -- -D warnings

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --quiet

step "tests (the README's test command)"
cargo test --workspace

step "the suite harness under nextest"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run -p knot-tests-harness
else
  echo "cargo-nextest is not installed: skipped"
fi

step "the tour (the README's first command)"
cargo run --quiet -p knot-examples
