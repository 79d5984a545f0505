#!/usr/bin/env bash
# What 2 threads can give on this machine, next to what they give: COBA and CUBA at N
# (default 64000, 80 inputs per neuron), run in turn RUNS times (default 7):
#   t1    one thread, N neurons;
#   t2    --threads 2 (2 shards exchanging spikes every step), N neurons;
#   halves two independent one-thread runs of N/2 neurons (the same model, 80 inputs per
#          neuron) started together: the work of 2 shards with no exchange at all, on both
#          cores at once (the slower one's loop time).
# t1/halves is the speedup 2 threads could reach if sharding cost nothing; t1/t2 the one
# they reach. Medians and min-max of the pairwise ratios.
# Usage: [RUNS=7] bash benches/threads_bound.sh [N...]
set -euo pipefail
cd "$(dirname "$0")/.."
NS=${*:-64000}
RUNS=${RUNS:-7}
cargo build --release -q -p spikeworld-cli
SW=target/release/spikeworld
out=$(mktemp -d)
loop() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['loop_time_s'])" "$1/manifest.json"; }
args() { local n=$1; local ne=$((n * 4 / 5)); local p; p=$(python3 -c "print(80/$n)"); echo "--set population.P.size=$n --set projection.exc.from=P[:$ne] --set projection.inh.from=P[$ne:] --set projection.exc.p=$p --set projection.inh.p=$p"; }
printf "%-5s %6s | %-22s | %-22s | %-22s | %-18s | %s\n" model N "t1 s (med min-max)" "t2 s" "halves s" "t1/t2" "t1/halves"
for model in coba cuba; do
  for N in $NS; do
    full=$(args "$N"); half=$(args $((N / 2)))
    : > "$out/rows"
    for r in $(seq "$RUNS"); do
      # shellcheck disable=SC2086
      $SW run scenarios/$model.toml --quiet --threads 1 --out "$out/a" $full > /dev/null
      # shellcheck disable=SC2086
      $SW run scenarios/$model.toml --quiet --threads 2 --out "$out/b" $full > /dev/null
      # shellcheck disable=SC2086
      $SW run scenarios/$model.toml --quiet --threads 1 --out "$out/c" $half > /dev/null &
      # shellcheck disable=SC2086
      $SW run scenarios/$model.toml --quiet --threads 1 --out "$out/d" $half > /dev/null
      wait
      echo "$(loop "$out/a") $(loop "$out/b") $(python3 -c "print(max($(loop "$out/c"), $(loop "$out/d")))")" >> "$out/rows"
    done
    python3 - "$out/rows" "$model" "$N" <<'PY'
import sys, statistics as st
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
f = lambda v: "%.3f %.3f-%.3f" % (st.median(v), min(v), max(v))
col = lambda i: [r[i] for r in rows]
s2 = [r[0] / r[1] for r in rows]; sh = [r[0] / r[2] for r in rows]
print("%-5s %6s | %-22s | %-22s | %-22s | %-18s | %s" % (sys.argv[2], sys.argv[3], f(col(0)), f(col(1)), f(col(2)), f(s2), f(sh)))
PY
  done
done
rm -rf "$out"
