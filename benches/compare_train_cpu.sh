#!/usr/bin/env bash
# Surrogate-gradient training speed on CPU, spikeworld (burn Flex + autodiff, f32) beside
# SpikingJelly (torch, CPU, 2 threads) on the anchor task of ../shared/bench/train_anchor.py:
# Linear(N -> N, no bias) + LIF, batch 16, T = 100, input spikes p = 0.1, loss = sum of the
# output spikes; forward and backward timed separately.
# Usage: [RUNS=5] [INNER=1] bash benches/compare_train_cpu.sh [N...]   (default N: 4096)
# The two are run in turn, A B A B ..., RUNS rounds, each process once per round (each
# process: 2 warm-ups, then INNER timed repetitions). Figures: median (min-max) over the
# RUNS processes (each one's median of its INNER repetitions; INNER = 1: its one timing);
# total = fwd + bwd of the same repetition; ratio = SpikingJelly time / spikeworld time (> 1: spikeworld faster).
# The venv (torch + spikingjelly from PyPI) is made on first use in $VENV.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-$HOME/.cache/spikeworld-train-anchor}
RUNS=${RUNS:-5}
INNER=${INNER:-1}
NS=${*:-4096}
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c "import torch, spikingjelly" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip
  "$VENV/bin/pip" install -q torch spikingjelly
fi
PY=$VENV/bin/python
cargo build --release -q -p spikeworld-train-surrogate --examples
SW=target/release/examples/anchor
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for N in $NS; do
  : > "$out/sw.$N"; : > "$out/sj.$N"
  for r in $(seq "$RUNS"); do
    "$SW" "$N" "$INNER" 2>/dev/null | grep '^RESULT ' >> "$out/sw.$N"
    OMP_NUM_THREADS=2 "$PY" benches/train_anchor_sj.py "$N" "$INNER" | grep '^RESULT ' >> "$out/sj.$N"
  done
done
"$PY" - "$out" $NS <<'PY'
import json, statistics as st, sys
d, ns = sys.argv[1], sys.argv[2:]
def load(p):
    rows = [json.loads(l.split(" ", 1)[1]) for l in open(p) if l.strip()]
    # One row per process; INNER = 1 makes fwd_s/bwd_s the single timing of that process.
    f = [r["fwd_s"] for r in rows]; b = [r["bwd_s"] for r in rows]
    t = [x + y for x, y in zip(f, b)]
    return f, b, t, rows
def cell(v):
    return f"{st.median(v):.3f} ({min(v):.3f}-{max(v):.3f})"
print(f"{'N':>5} | {'spikeworld fwd s':>22} {'spikeworld bwd s':>22} | {'SpikingJelly fwd s':>22} {'SpikingJelly bwd s':>22} | {'ratio fwd':>9} {'bwd':>6} {'total':>6}")
for n in ns:
    sf, sb, stt, _ = load(f"{d}/sw.{n}")
    jf, jb, jt, rows = load(f"{d}/sj.{n}")
    rf = st.median(jf) / st.median(sf); rb = st.median(jb) / st.median(sb); rt = st.median(jt) / st.median(stt)
    print(f"{n:>5} | {cell(sf):>22} {cell(sb):>22} | {cell(jf):>22} {cell(jb):>22} | {rf:>9.2f} {rb:>6.2f} {rt:>6.2f}")
r = rows[0]
print(f"# B = 16, T = 100, rounds = {len(rows)}, per-process timed reps = INNER; torch {r['torch']} ({r['threads']} threads), spikingjelly {r['spikingjelly']}")
PY
