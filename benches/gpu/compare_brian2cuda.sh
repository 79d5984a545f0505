#!/usr/bin/env bash
# Runs on the GPU host from the repository root: the device engine (a `--features cuda`
# build at $BIN) and Brian2CUDA (wheels from ../shared/bench/gpu/prepare_wheels.sh in
# $GPU) on COBA/CUBA, 1 s biological, no recording, loop seconds; then the firing
# statistics of recorded device runs. Usage:
#   bash benches/gpu/compare_brian2cuda.sh time MODEL RUNS N...   (sw, b2c, sw, b2c, ...)
#   bash benches/gpu/compare_brian2cuda.sh stats MODEL N...
#   bash benches/gpu/compare_brian2cuda.sh swonly MODEL RUNS N... (the device engine alone)
# DELIVERY=auto|pull|push picks the device engine's delivery.
set -uo pipefail
BIN=${BIN:-.dev/spikeworld}; GPU=${GPU:-.gpu}; OUT=${OUT:-/tmp/cmp}; mkdir -p $OUT
scale() { local N=$1; local NE=$((N * 4 / 5)); local p; p=$(awk "BEGIN{print 80/$N}")
  echo "--set population.P.size=$N --set projection.exc.from=P[:$NE] --set projection.inh.from=P[$NE:] --set projection.exc.p=$p --set projection.inh.p=$p"; }
b2c_setup() { [ -d /tmp/site ] || { python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site $GPU/whl/*.whl 2>&1 | grep -v WARNING | tail -2;
  sed -i "s/-std=c++11/-std=c++17/" /tmp/site/brian2cuda/templates/makefile 2>/dev/null; }; }
what=$1; model=$2; shift 2
case $what in
time)
  runs=$1; shift; b2c_setup
  sed '/^\[\[monitor\]\]/,$d' scenarios/$model.toml > scenarios/.norec_$model.toml
  for N in "$@"; do
    for r in $(seq $runs); do
      echo "SW $model $N $($BIN run scenarios/.norec_$model.toml --quiet --engine device --device cuda --delivery ${DELIVERY:-auto} --out $OUT/t $(scale $N) 2>&1 | grep -E 'loop|rror')"
      PYTHONPATH=/tmp/site python3 $GPU/bench_brian2cuda.py --model $model --N $N --mode cuda --no-record > /tmp/b2c.log 2>&1
      echo "B2C $model $N $(grep RESULT /tmp/b2c.log || tail -n 5 /tmp/b2c.log)"
    done
  done
  rm -f scenarios/.norec_$model.toml ;;
swonly)
  runs=$1; shift
  sed '/^\[\[monitor\]\]/,$d' scenarios/$model.toml > scenarios/.norec_$model.toml
  for N in "$@"; do
    for r in $(seq $runs); do
      echo "SW ${DELIVERY:-auto} $model $N $($BIN run scenarios/.norec_$model.toml --quiet --engine device --device cuda --delivery ${DELIVERY:-auto} --out $OUT/t $(scale $N) 2>&1 | grep -E 'loop|rror')"
    done
  done
  rm -f scenarios/.norec_$model.toml ;;
stats)
  for N in "$@"; do
    $BIN run scenarios/$model.toml --quiet --engine device --device cuda --delivery ${DELIVERY:-auto} --out $OUT/s$model$N $(scale $N) 2>&1 | grep -E 'loop|Hz|rror'
    python3 - $OUT/s$model$N $N $model <<'PY'
import sys, numpy as np
d, N, m = sys.argv[1], int(sys.argv[2]), sys.argv[3]
t = np.load(d + '/spikes.t_ms.npy'); i = np.load(d + '/spikes.index.npy')
NE = N * 4 // 5
o = np.lexsort((t, i)); t, i = t[o], i[o]
isi = np.diff(t); same = i[1:] == i[:-1]; isi = isi[same]; who = i[1:][same]
cnt = np.bincount(who, minlength=N); s1 = np.bincount(who, isi, N); s2 = np.bincount(who, isi * isi, N)
ok = cnt >= 2; mu = s1[ok] / cnt[ok]; sd = np.sqrt(np.maximum(s2[ok] / cnt[ok] - mu * mu, 0))
print(f"STATS {m} {N} rate_E {np.sum(i < NE) / NE:.3f} Hz rate_I {np.sum(i >= NE) / (N - NE):.3f} Hz cv {np.mean(sd / mu):.3f} spikes {len(t)}")
PY
  done ;;
esac
