#!/usr/bin/env bash
# The cost of plasticity, side by side with Brian2 C++ standalone (1 thread), interleaved
# (sw static, sw stdp, b2 static, b2 stdp, sw song, b2 song; repeated RUNS times; medians
# and min-max):
#  - COBA-4000 with pair STDP on its E->E synapses (benches/stdp/coba_stdp.toml) against the
#    same network without the `plasticity` line: loop seconds and the slowdown of each;
#  - Song et al. (2000) (scenarios/stdp_song2000.toml, 100 s): loop seconds, ratio, and the
#    fraction of weights in the outer 20% of [0, gmax] at the end.
# Usage: [RUNS=5] bash benches/compare_brian2_stdp.sh   (needs bash ../shared/bench/peers.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
PEERS=${PEERS_DIR:-$HOME/.cache/spikeworld-peers}
PY=$PEERS/brian2/bin/python
cargo build --release -q --workspace
SW=target/release/spikeworld
out=$(mktemp -d)
grep -v '^plasticity' benches/stdp/coba_stdp.toml > "$out/coba_static.toml"
: > "$out/rows"
for r in $(seq "${RUNS:-1}"); do
  row=""
  for sc in "$out/coba_static.toml" benches/stdp/coba_stdp.toml; do
    $SW run "$sc" --quiet --out "$out/sw" > /dev/null
    row+=" $("$PY" -c "import json; m=json.load(open('$out/sw/manifest.json')); print(m['loop_time_s'], m['populations']['P']['rate_hz'])")"
  done
  for m in coba_static coba_stdp; do
    row+=" $("$PY" benches/stdp/brian2_stdp.py --model $m | grep '^RESULT' | cut -c8- | "$PY" -c "import json,sys; d=json.load(sys.stdin); print(d['sim_time_s'], d['rate_hz'])")"
  done
  $SW run scenarios/stdp_song2000.toml --quiet --out "$out/song" > /dev/null
  row+=" $("$PY" -c "
import json, numpy as np
m = json.load(open('$out/song/manifest.json')); h = np.load('$out/song/w.hist.npy')[-1]
print(m['loop_time_s'], m['populations']['neuron']['rate_hz'], (h[:4].sum() + h[-4:].sum()) / h.sum())")"
  row+=" $("$PY" benches/stdp/brian2_stdp.py --model song | grep '^RESULT' | cut -c8- | "$PY" -c "import json,sys; d=json.load(sys.stdin); print(d['sim_time_s'], d['rate_hz'], d['outer20'])")"
  echo "$row" >> "$out/rows"
  echo "run $r: $row" >&2
done
"$PY" - "$out/rows" <<'PY'
import sys, statistics as st
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
c = list(zip(*rows))
med = lambda i: st.median(c[i])
rng = lambda xs: "%.3f-%.3f" % (min(xs), max(xs))
sw_slow = [r[2] / r[0] for r in rows]; b2_slow = [r[6] / r[4] for r in rows]
song_ratio = [r[11] / r[8] for r in rows]
print("%d runs interleaved (median, min-max)" % len(rows))
print("COBA-4000 static  spikeworld %.3f s (%s) %.2f Hz | Brian2 %.3f s (%s) %.2f Hz" % (med(0), rng(c[0]), med(1), med(4), rng(c[4]), med(5)))
print("COBA-4000 E->E stdp spikeworld %.3f s (%s) %.2f Hz | Brian2 %.3f s (%s) %.2f Hz" % (med(2), rng(c[2]), med(3), med(6), rng(c[6]), med(7)))
print("slowdown from STDP: spikeworld %.2f (%s) | Brian2 %.2f (%s)" % (st.median(sw_slow), rng(sw_slow), st.median(b2_slow), rng(b2_slow)))
print("Song 2000 (100 s): spikeworld %.3f s (%s) %.1f Hz outer20 %.2f | Brian2 %.3f s (%s) %.1f Hz outer20 %.2f | Brian2/spikeworld %.2f (%s)" % (
    med(8), rng(c[8]), med(9), med(10), med(11), rng(c[11]), med(12), med(13), st.median(song_ratio), rng(song_ratio)))
PY
