#!/usr/bin/env bash
# Loop time of the cpu engine on 1 thread and on T threads (default 2), COBA and CUBA at
# N = 16000, 64000 (80 inputs per neuron), run in turn (1, T, 1, T, ...) RUNS times
# (default 5): medians, min-max, the median of the pairwise speedups, and a check that
# both give byte-identical spikes. MODE=pool splits one world over a thread pool
# (--threads-mode pool); the default, auto, runs a large network as T shards.
# Usage: [RUNS=5] [T=2] [TSTOP="1 s"] [MODE=auto|pool] bash benches/compare_threads.sh [N...]
set -euo pipefail
cd "$(dirname "$0")/.."
NS=${*:-16000 64000}
RUNS=${RUNS:-5}
T=${T:-2}
TSTOP=${TSTOP:-1 s}
cargo build --release -q --workspace
SW=target/release/spikeworld
out=$(mktemp -d)
printf "%-5s %6s | %9s %9s | %9s %9s | %7s %s\n" model N t1_loop_s rate_hz "t${T}_loop_s" rate_hz speedup spikes
for model in coba cuba; do
  for N in $NS; do
    NE=$((N * 4 / 5)); p=$(python3 -c "print(80/$N)")
    : > "$out/rows"
    for r in $(seq "$RUNS"); do
      for th in 1 "$T"; do
        $SW run scenarios/$model.toml --quiet --threads "$th" --threads-mode "${MODE:-auto}" --out "$out/t$th" --set population.P.size=$N \
          --set "projection.exc.from=P[:$NE]" --set "projection.inh.from=P[$NE:]" \
          --set projection.exc.p=$p --set projection.inh.p=$p --set "simulation.t_stop=$TSTOP" > /dev/null
      done
      same=$(cmp -s "$out/t1/spikes.index.npy" "$out/t$T/spikes.index.npy" && cmp -s "$out/t1/spikes.t_ms.npy" "$out/t$T/spikes.t_ms.npy" && echo same || echo DIFFER)
      python3 - "$out" "$T" "$same" >> "$out/rows" <<'PY'
import json, sys
d, T, same = sys.argv[1:4]
a, b = (json.load(open(f"{d}/t{t}/manifest.json")) for t in ("1", T))
print(a["loop_time_s"], a["populations"]["P"]["rate_hz"], b["loop_time_s"], b["populations"]["P"]["rate_hz"], same)
PY
    done
    python3 - "$out/rows" $model $N <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
num = [list(map(float, r[:4])) for r in rows]
med = [st.median(c) for c in zip(*num)]
sp = [r[0] / r[2] for r in num]
same = "same" if all(r[4] == "same" for r in rows) else "DIFFER"
print("%-5s %6s | %9.3f %9.2f | %9.3f %9.2f | %7.2f %s" % (sys.argv[2], sys.argv[3], *med, st.median(sp), same))
print("      %d runs interleaved; 1 thread %.3f-%.3f, T threads %.3f-%.3f, speedup %.2f-%.2f" % (
    len(num), min(r[0] for r in num), max(r[0] for r in num), min(r[2] for r in num), max(r[2] for r in num), min(sp), max(sp)))
PY
  done
done
rm -rf "$out"
