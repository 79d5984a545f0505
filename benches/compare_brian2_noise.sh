#!/usr/bin/env bash
# scenarios/noisy_lif_equations.toml (white noise `xi`) against Brian2 C++ standalone, 1 thread,
# the same network (benches/noisy_lif_brian2.py): RUNS interleaved pairs, loop seconds and rates.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
PY=${PY:-$HOME/.cache/spikeworld-peers/brian2/bin/python}
cargo build --release -q -p spikeworld-cli
B=$(mktemp -d)
"$PY" benches/noisy_lif_brian2.py "$B" > /dev/null   # compile once
for r in $(seq "$RUNS"); do
  sw=$(./target/release/spikeworld run scenarios/noisy_lif_equations.toml --out "$B/sw" --quiet 2>&1 | grep -o "in [0-9.]* s loop" | awk '{print $2}')
  sw_rate=$(./target/release/spikeworld run scenarios/noisy_lif_equations.toml --out "$B/sw" 2>&1 | grep -o "[0-9.]* Hz" | head -1)
  b2=$("$PY" benches/noisy_lif_brian2.py "$B")
  echo "run $r: spikeworld $sw s ($sw_rate) | Brian2 $b2"
done
