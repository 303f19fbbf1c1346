#!/usr/bin/env bash
# rollbook's benchmark suite, one command:
#
#   bench/run.sh            full run (~20 min): writes BENCHMARKS.md and bench/charts/*.svg
#   bench/run.sh --quick    one round at small sizes (~3 min): writes bench/work/BENCHMARKS-quick.md
#   bench/run.sh --work-dir /mnt/disk/bench-work   databases and logs elsewhere (default bench/work/)
#   bench/run.sh --help     every option of the driver
#
# Installs what is missing (wrk, util-linux's taskset/lsblk/findmnt; a C compiler for SQLite's
# bundled build), builds the release binary and the suite, then runs the driver
# (bench/src/driver.rs), which does the measuring and writes the report. Needs a Rust toolchain
# (the crate is edition 2024). Runs nowhere near `cargo test` or CI.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

say() { printf '[run.sh] %s\n' "$*" >&2; }

for arg in "$@"; do
  if [[ "$arg" == "-h" || "$arg" == "--help" ]]; then
    sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'
    echo
    exec cargo run --quiet --release --manifest-path bench/Cargo.toml --bin rollbook-bench -- --help
  fi
done

# ---- system packages ----------------------------------------------------------------------
missing=()
command -v wrk >/dev/null || missing+=(wrk)
{ command -v taskset && command -v lsblk && command -v findmnt; } >/dev/null || missing+=(util-linux)
command -v cc >/dev/null || missing+=(gcc)
command -v git >/dev/null || missing+=(git)
if ((${#missing[@]})); then
  sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { say "need root (or sudo) to install: ${missing[*]}"; exit 1; }
    sudo=(sudo)
  fi
  # Refresh the package lists only if a package has no install candidate yet.
  for pkg in "${missing[@]}"; do
    if ! apt-cache policy "$pkg" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      say "apt-get update (no candidate for $pkg)"
      "${sudo[@]}" apt-get update -qq
      break
    fi
  done
  say "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
command -v cargo >/dev/null || {
  say "cargo not found: install a Rust toolchain that builds edition 2024 (rustup, stable)"
  exit 1
}

# ---- builds -------------------------------------------------------------------------------
say "cargo build --release (rollbook)"
cargo build --release --quiet --bin rollbook
say "cargo build --release (bench suite)"
cargo build --release --quiet --manifest-path bench/Cargo.toml

# ---- run ----------------------------------------------------------------------------------
# The driver itself stays off the server's core: it polls /healthz while a replay is timed.
driver=(bench/target/release/rollbook-bench)
if [[ $(nproc) -ge 2 ]]; then
  driver=(taskset -c 1 "${driver[@]}")
else
  say "only $(nproc) core: nothing is pinned (the report says so)"
fi
exec "${driver[@]}" "$@"
