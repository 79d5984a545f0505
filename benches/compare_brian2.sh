#!/usr/bin/env bash
# Side-by-side loop times of spikeworld (cpu engine, 1 thread) and Brian2 C++ standalone
# (1 thread) on COBA and CUBA at N = 4000, 16000, 64000 (80 inputs per neuron), with the
# firing statistics of each run. Usage: [RUNS=5] bash benches/compare_brian2.sh [N...]
# With RUNS > 1 the two are run in turn (A B A B ...) and each figure is the median of the
# runs, with min-max of the loop times and of the pairwise ratio Brian2/spikeworld.
# MODELS="coba_equations" compares scenarios/coba_equations.toml (COBA written as equations)
# with Brian2's COBA; B2_MODE=cython times Brian2's runtime mode instead of standalone.
# Needs the peers: bash ../shared/bench/peers.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${PEERS_DIR:-$HOME/.cache/spikeworld-peers}
BENCH=${BENCH_DIR:-../shared/bench}
NS=${*:-4000 16000 64000}
# The whole workspace: its unified features reuse the test build's artifacts.
cargo build --release -q --workspace
SW=target/release/spikeworld
out=$(mktemp -d)
printf "%-5s %6s | %9s %9s %6s | %9s %9s %6s | %6s\n" model N sw_loop_s rate_hz cv b2_loop_s rate_hz cv ratio
RUNS=${RUNS:-1}
for model in ${MODELS:-coba cuba}; do
  b2model=${model%%_*}
  for N in $NS; do
    NE=$((N * 4 / 5)); p=$(python3 -c "print(80/$N)")
    : > "$out/rows"
    for r in $(seq "$RUNS"); do
      $SW run scenarios/$model.toml --quiet --out "$out/$model$N" --set population.P.size=$N \
        --set "projection.exc.from=P[:$NE]" --set "projection.inh.from=P[$NE:]" \
        --set projection.exc.p=$p --set projection.inh.p=$p > /dev/null
      sw=$(python3 - "$out/$model$N" $N <<'PY'
import json, math, struct, sys
d, N = sys.argv[1], int(sys.argv[2])
def npy(p):
    b = open(p, 'rb').read(); h = struct.unpack('<H', b[8:10])[0]; x = b[10 + h:]
    return struct.unpack('<%d%s' % (len(x) // 8, 'd' if b'<f8' in b[10:10 + h] else 'q'), x)
m = json.load(open(d + '/manifest.json'))
t, i = npy(d + '/spikes.t_ms.npy'), npy(d + '/spikes.index.npy')
per = [[] for _ in range(N)]
for a, b in zip(t, i): per[b].append(a)
cvs = []
for ts in per:
    if len(ts) >= 3:
        isi = [b - a for a, b in zip(ts, ts[1:])]; mu = sum(isi) / len(isi)
        cvs.append(math.sqrt(sum((x - mu) ** 2 for x in isi) / len(isi)) / mu)
print(m['loop_time_s'], m['populations']['P']['rate_hz'], sum(cvs) / len(cvs))
PY
)
      b2=$("$PEERS/brian2/bin/python" "$BENCH/bench_brian2.py" --model $b2model --N $N --mode ${B2_MODE:-standalone} --threads 0 | grep '^RESULT' | cut -c8- \
        | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['sim_time_s'], (0.8*d['rate_exc_hz']+0.2*d['rate_inh_hz']), d['cv_isi_mean'])")
      set -- $sw; s1=$1; s2=$2; s3=$3
      set -- $b2; b1=$1; b2r=$2; b3=$3
      echo "$s1 $s2 $s3 $b1 $b2r $b3" >> "$out/rows"
    done
    python3 - "$out/rows" $model $N <<'PY'
import sys, statistics as st
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
med = [st.median(c) for c in zip(*rows)]
ratio = [r[3] / r[0] for r in rows]
print("%-5s %6s | %9.3f %9.2f %6.3f | %9.3f %9.2f %6.3f | %6.2f" % (sys.argv[2], sys.argv[3], *med, st.median(ratio)))
if len(rows) > 1:
    print("      %d runs interleaved; spikeworld loop %.3f-%.3f, Brian2 loop %.3f-%.3f, ratio %.2f-%.2f" % (
        len(rows), min(r[0] for r in rows), max(r[0] for r in rows), min(r[3] for r in rows), max(r[3] for r in rows), min(ratio), max(ratio)))
PY
  done
done
rm -rf "$out"
