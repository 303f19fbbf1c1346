#!/usr/bin/env bash
# Runs every cargo-fuzz target of fuzz/ for a fixed time (default 60 s each), installing
# cargo-fuzz when missing.
#
#   scripts/fuzz.sh                 # every target, 60 s each
#   scripts/fuzz.sh 300 form        # one target, 5 minutes
#   FUZZ_SANITIZER=address scripts/fuzz.sh
#
# libFuzzer needs nightly-only compiler flags; RUSTC_BOOTSTRAP=1 lets the stable toolchain
# accept them. rollbook forbids unsafe code, so by default the targets are built without a
# sanitizer (about 6 times faster than with AddressSanitizer): a panic is the finding.
#
# New inputs go to fuzz/target/corpus/<target> (ignored by git), seeded from the committed
# fuzz/corpus/<target>; crashes go to fuzz/artifacts/<target>. Copy a crash into
# fuzz/corpus/<target>/ (with a name saying what it found) once fixed: tests/fuzz_corpus.rs
# replays that directory in `cargo test`.
set -euo pipefail

seconds="${1:-60}"
shift || true
cd "$(dirname "$0")/../fuzz"

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install --locked cargo-fuzz
fi

export RUSTC_BOOTSTRAP=1
sanitizer="${FUZZ_SANITIZER:-none}"
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

cargo fuzz build -s "$sanitizer"
status=0
for target in "${targets[@]}"; do
    mkdir -p "target/corpus/$target"
    echo "== $target: ${seconds}s"
    if ! cargo fuzz run -s "$sanitizer" "$target" "target/corpus/$target" "corpus/$target" -- \
        -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=4096 \
        -print_final_stats=1 2>&1 | tee "target/fuzz-$target.log" | grep -E '^(Done|stat::|==|SUMMARY)|panicked|Test unit written'
    then
        status=1
    fi
    if grep -qE 'panicked|SUMMARY|Test unit written' "target/fuzz-$target.log"; then
        echo "!! $target found a problem: see fuzz/target/fuzz-$target.log and fuzz/artifacts/$target/"
        status=1
    fi
done
exit "$status"
