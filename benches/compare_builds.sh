#!/usr/bin/env bash
# Loop time (manifest `loop_time_s`, seconds per run of 1 biological second) of two
# spikeworld binaries on COBA and CUBA, runs interleaved A B A B ..., with the median,
# min and max of each and of the pairwise ratio B/A, and the spike counts of both (they
# must be equal: the same bits). Usage:
#   bash benches/compare_builds.sh OLD_BINARY NEW_BINARY [RUNS=7] [N...=4000 16000]
set -euo pipefail
cd "$(dirname "$0")/.."
A=$1; B=$2; RUNS=${3:-7}; shift 3 || shift $#
NS=${*:-4000 16000}
out=$(mktemp -d)
loop() { python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(m['loop_time_s'], sum(p['spikes'] for p in m['populations'].values()))" "$1/manifest.json"; }
printf "%-5s %6s | %-24s | %-24s | %-22s | %s\n" model N "A loop s (med min-max)" "B loop s (med min-max)" "B/A (med min-max)" "spikes A B"
for model in ${MODELS:-coba cuba}; do
  for N in $NS; do
    NE=$((N * 4 / 5)); p=$(python3 -c "print(80/$N)")
    set_args=(--set population.P.size=$N --set "projection.exc.from=P[:$NE]" --set "projection.inh.from=P[$NE:]" --set projection.exc.p=$p --set projection.inh.p=$p)
    : > "$out/a"; : > "$out/b"
    for r in $(seq "$RUNS"); do
      "$A" run scenarios/$model.toml --quiet --out "$out/ra" "${set_args[@]}" > /dev/null; loop "$out/ra" >> "$out/a"
      "$B" run scenarios/$model.toml --quiet --out "$out/rb" "${set_args[@]}" > /dev/null; loop "$out/rb" >> "$out/b"
      rm -rf "$out/ra" "$out/rb"
    done
    python3 - "$out/a" "$out/b" "$model" "$N" <<'PY'
import sys, statistics as st
a = [l.split() for l in open(sys.argv[1])]; b = [l.split() for l in open(sys.argv[2])]
ta = [float(x[0]) for x in a]; tb = [float(x[0]) for x in b]
r = [y / x for x, y in zip(ta, tb)]
f = lambda v: "%.3f %.3f-%.3f" % (st.median(v), min(v), max(v))
print("%-5s %6s | %-24s | %-24s | %-22s | %s %s" % (sys.argv[3], sys.argv[4], f(ta), f(tb), f(r), a[0][1], b[0][1]))
PY
  done
done
