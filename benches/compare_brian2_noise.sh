#!/usr/bin/env bash
# scenarios/noisy_lif_equations.toml (white noise `xi`) against Brian2 C++ standalone, 1 thread,
# the same network (benches/noisy_lif_brian2.py): RUNS interleaved pairs, loop seconds and rates,
# the ratio Brian2 / spikeworld of each pair, and the median and range of the ratios.
# Usage: [RUNS=5] [PY=python-with-brian2] bash benches/compare_brian2_noise.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
PY=${PY:-$HOME/.cache/spikeworld-peers/brian2/bin/python}
cargo build --release -q -p spikeworld-cli
B=$(mktemp -d)
"$PY" benches/noisy_lif_brian2.py "$B" > /dev/null   # compile once
ratios=()
for r in $(seq "$RUNS"); do
  ./target/release/spikeworld run scenarios/noisy_lif_equations.toml --out "$B/sw" --quiet > /dev/null
  read -r sw sw_rate < <("$PY" -c "import json,sys; m=json.load(open(sys.argv[1])); print(m['loop_time_s'], m['populations']['P']['rate_hz'])" "$B/sw/manifest.json")
  read -r _ b2 _ b2_rate < <("$PY" benches/noisy_lif_brian2.py "$B")
  ratio=$("$PY" -c "print('%.3f' % ($b2 / $sw))")
  ratios+=("$ratio")
  printf "run %d: spikeworld %.3f s (%.3f Hz) | Brian2 %.3f s (%.3f Hz) | %s\n" "$r" "$sw" "$sw_rate" "$b2" "$b2_rate" "$ratio"
done
"$PY" -c "import statistics as s, sys; r=[float(x) for x in sys.argv[1:]]; print('# median ratio %.2f (%.2f-%.2f), Brian2 / spikeworld' % (s.median(r), min(r), max(r)))" "${ratios[@]}"
rm -rf "$B"
