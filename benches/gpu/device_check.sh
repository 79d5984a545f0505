#!/usr/bin/env bash
# Runs on the GPU host, from the repository root, with a `--features cuda` build of the CLI
# at $BIN (default .dev/spikeworld). Checks the device engine against the cpu engine
# (spike trains byte-identical), run-to-run identity, what FMA contraction does, and times
# COBA and CUBA at the given sizes without recording (as Brian2CUDA's anchor runs).
# Usage: bash benches/gpu/device_check.sh [check] [time N...]
set -uo pipefail
BIN=${BIN:-.dev/spikeworld}
OUT=${OUT:-/tmp/devout}
mkdir -p "$OUT"
scale() { # model N -> --set arguments for N neurons, 80 inputs each
  local N=$2; local NE=$((N * 4 / 5)); local p; p=$(awk "BEGIN{print 80/$N}")
  echo "--set population.P.size=$N --set projection.exc.from=P[:$NE] --set projection.inh.from=P[$NE:] --set projection.exc.p=$p --set projection.inh.p=$p"
}
if [ "${1:-}" = check ]; then
  shift
  for model in coba cuba; do
    for N in 4000 64000; do
      d=$OUT/$model$N; mkdir -p $d
      $BIN run scenarios/$model.toml --quiet --engine cpu --out $d/cpu $(scale $model $N) 2>&1 | grep -E "loop|Hz|rror"
      $BIN run scenarios/$model.toml --quiet --engine device --device cuda --delivery ${DELIVERY:-auto} --out $d/dev1 $(scale $model $N) 2>&1 | grep -E "loop|Hz|rror"
      $BIN run scenarios/$model.toml --quiet --engine device --device cuda --delivery ${DELIVERY:-auto} --out $d/dev2 $(scale $model $N) 2>&1 | grep -E "loop|Hz|rror"
      SPIKEWORLD_CUDA_FMAD=1 $BIN run scenarios/$model.toml --quiet --engine device --device cuda --delivery ${DELIVERY:-auto} --out $d/fma $(scale $model $N) 2>&1 | grep -E "loop|Hz|rror"
      for f in spikes.t_ms.npy spikes.index.npy; do
        cmp -s $d/cpu/$f $d/dev1/$f && echo "RESULT $model $N $f device==cpu" || echo "RESULT $model $N $f device!=cpu"
        cmp -s $d/dev1/$f $d/dev2/$f && echo "RESULT $model $N $f run1==run2" || echo "RESULT $model $N $f run1!=run2"
        cmp -s $d/cpu/$f $d/fma/$f && echo "RESULT $model $N $f fma==cpu" || echo "RESULT $model $N $f fma!=cpu"
      done
      ls -la $d/cpu/spikes.index.npy $d/fma/spikes.index.npy | awk '{print $5, $9}'
    done
  done
fi
if [ "${1:-}" = time ]; then
  shift
  for model in coba cuba; do
    sed '/^\[\[monitor\]\]/,$d' scenarios/$model.toml > scenarios/.norec_$model.toml
    for N in "$@"; do
      for r in 1 2 3; do
        echo "TIME $model $N run$r $($BIN run scenarios/.norec_$model.toml --quiet --engine device --device cuda --delivery ${DELIVERY:-auto} --out $OUT/t $(scale $model $N) 2>&1 | grep -E "loop|rror")"
      done
    done
    rm -f scenarios/.norec_$model.toml
  done
fi
