#!/usr/bin/env bash
# Crash-safety soak: the kill -9 harness of tests/it/crash.rs (`kill_nine_soak`) for many
# cycles, on a release build. Each cycle starts the real `rollbook serve` on one database,
# checks it serves what the file holds, loads it from several concurrent clients, SIGKILLs it
# once a seeded random number of commands were acknowledged, and audits the file: every
# acknowledged command's events present, no command half-applied, positions gapless, redb's
# integrity check and `rollbook verify` passing. The test suite runs 20 such cycles; this runs
# hundreds.
#
# Usage:   scripts/soak.sh [CYCLES] [SEED]      (defaults: 300 cycles, a seed from the clock)
# Replay:  scripts/soak.sh 300 <the seed a failure printed>
# Figures: the test prints cycles, commands and events acknowledged, events lost (must be 0).
set -euo pipefail
cd "$(dirname "$0")/.."
cycles="${1:-300}"
seed="${2:-$(date +%s)}"
echo "soak: ${cycles} kill -9 cycles, seed ${seed}"
ROLLBOOK_SOAK_CYCLES="${cycles}" ROLLBOOK_CRASH_SEED="${seed}" \
    cargo test --release --test it crash::kill_nine_soak -- --ignored --exact --nocapture
