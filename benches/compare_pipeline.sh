#!/usr/bin/env bash
# Wall time of training the digits network (hidden layer of H neurons, batch B) unsplit,
# EPOCHS epochs (default 3), with M micro-batches on one partition, and with M micro-batches through P pipeline
# partitions (train.partitions, train.micro_batches), run in turn RUNS times (default 5):
# median and min-max of the process's seconds (loading included), the median ratio
# one-partition/pipeline (> 1: the pipeline faster), and a check that the pipeline's
# trained weights equal one partition's byte for byte.
# Usage: [RUNS=5] [H=2048] [B=128] [M=4] [P=2] [EPOCHS=3] bash benches/compare_pipeline.sh
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-5}; H=${H:-2048}; B=${B:-128}; M=${M:-4}; P=${P:-2}; EPOCHS=${EPOCHS:-3}
cargo build --release -q -p spikeworld-cli
SW=target/release/spikeworld
out=$(mktemp -d)
train() { # partitions micro_batches dir -> wall seconds of the process
  local s e
  s=$(date +%s.%N)
  $SW train scenarios/train_digits.toml --quiet --set population.hidden.size=$H --set train.batch_size=$B --set train.epochs=$EPOCHS \
    --set train.partitions=$1 --set train.micro_batches=$2 --out "$out/$3" > /dev/null
  e=$(date +%s.%N)
  python3 -c "print($e - $s)"
}
: > "$out/rows"
for r in $(seq "$RUNS"); do
  echo "$(train 1 1 whole) $(train 1 "$M" one) $(train "$P" "$M" pipe)" >> "$out/rows"
done
for f in "$out"/one/weights/*.npy; do cmp -s "$f" "$out/pipe/weights/$(basename "$f")" || { echo "weights differ: $(basename "$f")"; exit 1; }; done
python3 - "$out/rows" "$H" "$B" "$M" "$P" "$EPOCHS" <<'PY'
import sys, statistics as st
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
h, b, m, p, e = sys.argv[2:]
cols = list(zip(*rows))
fmt = lambda c: f"{st.median(c):.3f} ({min(c):.3f}-{max(c):.3f})"
print(f"digits, hidden {h}, batch {b}, {e} epochs, {len(rows)} interleaved runs; wall seconds median (min-max)")
print(f"  unsplit:                    {fmt(cols[0])}")
print(f"  1 partition, {m} micro-batches: {fmt(cols[1])}")
print(f"  {p} partitions, {m} micro-batches: {fmt(cols[2])}")
print(f"  ratio 1-partition/pipeline, median of pairs: {st.median(a / c for a, c in zip(cols[1], cols[2])):.2f}")
print("  trained weights: pipeline == 1 partition, byte for byte")
PY
