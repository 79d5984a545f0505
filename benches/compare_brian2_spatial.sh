#!/usr/bin/env bash
# scenarios/spatial.toml (COBA on a torus sheet, an expression p of the wrapped distance on
# every pair, distance-dependent delays) against Brian2 C++ standalone, 1 thread, the same
# network (benches/spatial_brian2.py; its own random places, so another draw of the
# network): RUNS interleaved pairs, build and loop seconds, synapses and rates, and the
# median and range of the ratios Brian2 / spikeworld.
# Usage: [RUNS=5] [PY=python-with-brian2] bash benches/compare_brian2_spatial.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}
PY=${PY:-$HOME/.cache/spikeworld-peers/brian2/bin/python}
cargo build --release -q -p spikeworld-cli
B=$(mktemp -d)
"$PY" benches/spatial_brian2.py "$B" > /dev/null   # compile once
builds=(); loops=()
for r in $(seq "$RUNS"); do
  ./target/release/spikeworld run scenarios/spatial.toml --out "$B/sw" --quiet > /dev/null
  read -r sw_b sw_l sw_n sw_rate < <("$PY" -c "import json,sys; m=json.load(open(sys.argv[1])); print(m['build_time_s'], m['loop_time_s'], sum(p['synapses'] for p in m['projections'].values()), m['populations']['P']['rate_hz'])" "$B/sw/manifest.json")
  read -r _ b2_b _ b2_l _ b2_n _ b2_rate _ _ < <("$PY" benches/spatial_brian2.py "$B")
  rb=$("$PY" -c "print('%.3f' % ($b2_b / $sw_b))"); rl=$("$PY" -c "print('%.3f' % ($b2_l / $sw_l))")
  builds+=("$rb"); loops+=("$rl")
  printf "run %d: spikeworld build %.3f s loop %.3f s, %d synapses, %.3f Hz | Brian2 build %.3f s loop %.3f s, %d synapses, %.3f Hz | build %s loop %s\n" "$r" "$sw_b" "$sw_l" "$sw_n" "$sw_rate" "$b2_b" "$b2_l" "$b2_n" "$b2_rate" "$rb" "$rl"
done
med='import statistics as s, sys; r=[float(x) for x in sys.argv[2:]]; print("# %s: median ratio %.2f (%.2f-%.2f), Brian2 / spikeworld" % (sys.argv[1], s.median(r), min(r), max(r)))'
"$PY" -c "$med" build "${builds[@]}"
"$PY" -c "$med" loop "${loops[@]}"
rm -rf "$B"
