#!/usr/bin/env bash
# On the GPU host: spike trains of the device engine (delivery $DELIVERY) byte-identical
# to the cpu engine's? Usage: DELIVERY=push bash benches/gpu/equal.sh MODEL N...
set -uo pipefail
BIN=${BIN:-.dev/spikeworld}; OUT=${OUT:-/tmp/eq}; mkdir -p $OUT; model=$1; shift
scale() { local N=$1; local NE=$((N * 4 / 5)); local p; p=$(awk "BEGIN{print 80/$N}")
  echo "--set population.P.size=$N --set projection.exc.from=P[:$NE] --set projection.inh.from=P[$NE:] --set projection.exc.p=$p --set projection.inh.p=$p"; }
for N in "$@"; do
  $BIN run scenarios/$model.toml --quiet --engine cpu --out $OUT/c$N $(scale $N) 2>&1 | grep -E 'loop|rror'
  $BIN run scenarios/$model.toml --quiet --engine device --device cuda --delivery ${DELIVERY:-auto} --out $OUT/d$N $(scale $N) 2>&1 | grep -E 'loop|rror'
  for f in spikes.t_ms.npy spikes.index.npy; do
    cmp -s $OUT/c$N/$f $OUT/d$N/$f && echo "EQUAL ${DELIVERY:-auto} $model $N $f device==cpu" || echo "EQUAL ${DELIVERY:-auto} $model $N $f device!=cpu"
  done
  rm -rf $OUT/c$N $OUT/d$N
done
