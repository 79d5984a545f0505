#!/usr/bin/env bash
# Loop time of one world on 1 thread, one world on K pool threads (--threads-mode pool), and K shards (default 2;
# each shard a world on its own thread, spikes exchanged every step), COBA and CUBA at the
# given N (default 16000 64000; 80 inputs per neuron), run in turn RUNS times (default 5):
# medians, min-max, the median of the pairwise ratios threads/shards (> 1: shards faster),
# and a check that all three give byte-identical spikes. With DELAY="1 ms", every synapse
# has that delay, so shards exchange once per window (delay + 1 step), and a fourth
# configuration, K shards exchanging every step (--exchange-every 1), shows what the
# window saves: the last column is the median ratio every-step/window (> 1: windows faster).
# Usage: [RUNS=5] [K=2] [TSTOP="1 s"] [DELAY="1 ms"] [MODELS="coba cuba"] bash benches/compare_shards.sh [N...]
set -euo pipefail
cd "$(dirname "$0")/.."
NS=${*:-16000 64000}
RUNS=${RUNS:-5}
K=${K:-2}
TSTOP=${TSTOP:-1 s}
DELAY=${DELAY:-}
MODELS=${MODELS:-coba cuba}
CFGS=("one --threads 1" "thr --threads $K --threads-mode pool" "sh --shards $K")
EXTRA=()
if [ -n "$DELAY" ]; then
  CFGS+=("sh1 --shards $K --exchange-every 1")
  EXTRA=(--set "projection.exc.delay=$DELAY" --set "projection.inh.delay=$DELAY")
fi
cargo build --release -q -p spikeworld-cli
SW=target/release/spikeworld
out=$(mktemp -d)
printf "%-5s %6s | %9s | %9s | %9s | %8s | %9s %s%s\n" model N t1_loop_s "t${K}_loop_s" "s${K}_loop_s" rate_hz "t${K}/s${K}" spikes "${DELAY:+ | every-step/window}"
for model in $MODELS; do
  for N in $NS; do
    NE=$((N * 4 / 5)); p=$(python3 -c "print(80/$N)")
    : > "$out/rows"
    for r in $(seq "$RUNS"); do
      for cfg in "${CFGS[@]}"; do
        set -- $cfg
        name=$1; shift
        $SW run scenarios/$model.toml --quiet "$@" --out "$out/$name" --set population.P.size=$N \
          --set "projection.exc.from=P[:$NE]" --set "projection.inh.from=P[$NE:]" \
          --set projection.exc.p=$p --set projection.inh.p=$p --set "simulation.t_stop=$TSTOP" "${EXTRA[@]}" > /dev/null
      done
      same=same
      for name in thr sh ${DELAY:+sh1}; do
        cmp -s "$out/one/spikes.index.npy" "$out/$name/spikes.index.npy" && cmp -s "$out/one/spikes.t_ms.npy" "$out/$name/spikes.t_ms.npy" || same=DIFFER
      done
      python3 - "$out" "$same" >> "$out/rows" <<'PY'
import json, sys
d, same = sys.argv[1:3]
import os
names = ("one", "thr", "sh") + (("sh1",) if os.path.exists(f"{d}/sh1/manifest.json") else ())
m = {n: json.load(open(f"{d}/{n}/manifest.json")) for n in names}
sh1 = m["sh1"]["loop_time_s"] if "sh1" in m else 0
print(m["one"]["loop_time_s"], m["thr"]["loop_time_s"], m["sh"]["loop_time_s"], m["sh"]["populations"]["P"]["rate_hz"], sh1, same)
PY
    done
    python3 - "$out/rows" $model $N <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
num = [list(map(float, r[:5])) for r in rows]
med = [st.median(c) for c in zip(*num)][:4]
q = [r[1] / r[2] for r in num]
w = [r[4] / r[2] for r in num] if num[0][4] > 0 else []
same = "same" if all(r[5] == "same" for r in rows) else "DIFFER"
tail = " | %.2f (%.2f-%.2f)" % (st.median(w), min(w), max(w)) if w else ""
print("%-5s %6s | %9.3f | %9.3f | %9.3f | %8.2f | %9.2f %s%s" % (sys.argv[2], sys.argv[3], *med, st.median(q), same, tail))
rng = lambda i: "%.3f-%.3f" % (min(r[i] for r in num), max(r[i] for r in num))
print("      %d runs interleaved; 1 thread %s, threads %s, shards %s, ratio %.2f-%.2f" % (len(num), rng(0), rng(1), rng(2), min(q), max(q)))
PY
  done
done
rm -rf "$out"
