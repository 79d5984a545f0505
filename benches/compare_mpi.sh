#!/usr/bin/env bash
# Loop time of one process (1 thread), K shards on threads in one process, and K MPI
# processes (one shard each), COBA at the given N (default 16000 64000; 80 inputs per
# neuron), run in turn RUNS times (default 5): medians, min-max, the median of the pairwise
# ratios one/mpi and threads/mpi (> 1: MPI faster), and a check that all three give
# byte-identical spikes. DELAY="1 ms" gives every synapse that delay (exchange windows of
# 11 steps). Needs OpenMPI (bash scripts/install-mpi.sh); builds the CLI with `--features mpi`.
# Usage: [RUNS=5] [K=2] [TSTOP="1 s"] [DELAY=...] [MODEL=coba] bash benches/compare_mpi.sh [N...]
set -euo pipefail
cd "$(dirname "$0")/.."
NS=${*:-16000 64000}
RUNS=${RUNS:-5}
K=${K:-2}
TSTOP=${TSTOP:-1 s}
DELAY=${DELAY:-}
MODEL=${MODEL:-coba}
cargo build --release -q -p spikeworld-cli --features mpi
SW=target/release/spikeworld
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=$(mktemp -d)
EXTRA=()
if [ -n "$DELAY" ]; then EXTRA=(--set "projection.exc.delay=$DELAY" --set "projection.inh.delay=$DELAY"); fi
printf "%-5s %6s | %9s | %9s | %9s | %8s | %7s | %9s %s\n" model N one_loop_s "s${K}_loop_s" "mpi${K}_loop_s" rate_hz one/mpi "s${K}/mpi" spikes
for N in $NS; do
  NE=$((N * 4 / 5)); p=$(python3 -c "print(80/$N)")
  args=(scenarios/$MODEL.toml --quiet --set population.P.size=$N --set "projection.exc.from=P[:$NE]" --set "projection.inh.from=P[$NE:]"
    --set projection.exc.p=$p --set projection.inh.p=$p --set "simulation.t_stop=$TSTOP" "${EXTRA[@]}")
  : > "$out/rows"
  for r in $(seq "$RUNS"); do
    $SW run "${args[@]}" --out "$out/one" > /dev/null
    $SW run "${args[@]}" --shards "$K" --out "$out/sh" > /dev/null
    mpirun -n "$K" --oversubscribe --bind-to none "$SW" run "${args[@]}" --mpi --out "$out/mpi" > /dev/null
    same=same
    for name in sh mpi; do
      cmp -s "$out/one/spikes.index.npy" "$out/$name/spikes.index.npy" && cmp -s "$out/one/spikes.t_ms.npy" "$out/$name/spikes.t_ms.npy" || same=DIFFER
    done
    python3 - "$out" "$same" >> "$out/rows" <<'PY'
import json, sys
d, same = sys.argv[1:3]
m = {n: json.load(open(f"{d}/{n}/manifest.json")) for n in ("one", "sh", "mpi")}
print(m["one"]["loop_time_s"], m["sh"]["loop_time_s"], m["mpi"]["loop_time_s"], m["mpi"]["populations"]["P"]["rate_hz"], same)
PY
  done
  python3 - "$out/rows" $MODEL $N <<'PY'
import sys, statistics as st
rows = [l.split() for l in open(sys.argv[1])]
num = [list(map(float, r[:4])) for r in rows]
med = [st.median(c) for c in zip(*num)]
a = [r[0] / r[2] for r in num]
b = [r[1] / r[2] for r in num]
same = "same" if all(r[4] == "same" for r in rows) else "DIFFER"
print("%-5s %6s | %9.3f | %9.3f | %9.3f | %8.2f | %7.2f | %9.2f %s" % (sys.argv[2], sys.argv[3], *med, st.median(a), st.median(b), same))
rng = lambda v: "%.2f-%.2f" % (min(v), max(v))
print("      %d runs interleaved; one/mpi %s, shards/mpi %s" % (len(num), rng(a), rng(b)))
PY
done
rm -rf "$out"
