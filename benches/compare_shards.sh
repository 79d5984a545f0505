#!/usr/bin/env bash
# Loop time of one world on 1 thread, one world on K threads, and K shards (default 2;
# each shard a world on its own thread, spikes exchanged every step), COBA and CUBA at the
# given N (default 16000 64000; 80 inputs per neuron), run in turn RUNS times (default 5):
# medians, min-max, the median of the pairwise ratios threads/shards (> 1: shards faster),
# and a check that all three give byte-identical spikes.
# Usage: [RUNS=5] [K=2] [TSTOP="1 s"] bash benches/compare_shards.sh [N...]
set -euo pipefail
cd "$(dirname "$0")/.."
NS=${*:-16000 64000}
RUNS=${RUNS:-5}
K=${K:-2}
TSTOP=${TSTOP:-1 s}
cargo build --release -q -p spikeworld-cli
SW=target/release/spikeworld
out=$(mktemp -d)
printf "%-5s %6s | %9s | %9s | %9s | %8s | %9s %s\n" model N t1_loop_s "t${K}_loop_s" "s${K}_loop_s" rate_hz "t${K}/s${K}" spikes
for model in coba cuba; do
  for N in $NS; do
    NE=$((N * 4 / 5)); p=$(python3 -c "print(80/$N)")
    : > "$out/rows"
    for r in $(seq "$RUNS"); do
      for cfg in "one --threads 1" "thr --threads $K" "sh --shards $K"; do
        set -- $cfg
        name=$1; shift
        $SW run scenarios/$model.toml --quiet "$@" --out "$out/$name" --set population.P.size=$N \
          --set "projection.exc.from=P[:$NE]" --set "projection.inh.from=P[$NE:]" \
          --set projection.exc.p=$p --set projection.inh.p=$p --set "simulation.t_stop=$TSTOP" > /dev/null
      done
      same=same
      for name in thr sh; do
        cmp -s "$out/one/spikes.index.npy" "$out/$name/spikes.index.npy" && cmp -s "$out/one/spikes.t_ms.npy" "$out/$name/spikes.t_ms.npy" || same=DIFFER
      done
      python3 - "$out" "$same" >> "$out/rows" <<'PY'
import json, sys
d, same = sys.argv[1:3]
m = {n: json.load(open(f"{d}/{n}/manifest.json")) for n in ("one", "thr", "sh")}
print(m["one"]["loop_time_s"], m["thr"]["loop_time_s"], m["sh"]["loop_time_s"], m["sh"]["populations"]["P"]["rate_hz"], same)
PY
    done
    python3 - "$out/rows" $model $N <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
num = [list(map(float, r[:4])) for r in rows]
med = [st.median(c) for c in zip(*num)]
q = [r[1] / r[2] for r in num]
same = "same" if all(r[4] == "same" for r in rows) else "DIFFER"
print("%-5s %6s | %9.3f | %9.3f | %9.3f | %8.2f | %9.2f %s" % (sys.argv[2], sys.argv[3], *med, st.median(q), same))
rng = lambda i: "%.3f-%.3f" % (min(r[i] for r in num), max(r[i] for r in num))
print("      %d runs interleaved; 1 thread %s, threads %s, shards %s, ratio %.2f-%.2f" % (len(num), rng(0), rng(1), rng(2), min(q), max(q)))
PY
  done
done
rm -rf "$out"
