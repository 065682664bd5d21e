#!/usr/bin/env bash
# Runs one fuzz target, seeded from fuzz/seeds/TARGET (examples and test fixtures).
#
#   scripts/fuzz.sh TARGET [SECONDS]      # targets: report ladder history baseline assess config fast connection
#
# Needs cargo-fuzz (cargo install cargo-fuzz). cargo-fuzz uses nightly-only
# compiler flags; RUSTC_BOOTSTRAP=1 allows them on the stable toolchain.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
target=${1:?usage: scripts/fuzz.sh TARGET [SECONDS]}
seconds=${2:-600}
mkdir -p "corpus/$target"
cp -n "seeds/$target"/* "corpus/$target/" 2>/dev/null || true
RUSTC_BOOTSTRAP=1 cargo fuzz run -O "$target" "corpus/$target" -- \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1
