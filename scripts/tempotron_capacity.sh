#!/usr/bin/env bash
# Gütig & Sompolinsky's capacity curve from the CLI: for α = P/N in ALPHAS and seeds 1..SEEDS,
# `spikeworld train scenarios/tempotron_patterns.toml` with P = α·500 patterns and at most
# EPOCHS epochs; prints, per α, how many runs reached an epoch without an error, the mean
# final accuracy and the mean epochs. Usage: bash scripts/tempotron_capacity.sh
# (env: ALPHAS="0.5 1 2 3", SEEDS=3, EPOCHS=1000, SPIKEWORLD=target/release/spikeworld).
set -euo pipefail
cd "$(dirname "$0")/.."
SW=${SPIKEWORLD:-target/release/spikeworld}
ALPHAS=${ALPHAS:-"0.5 1 2 3"}
SEEDS=${SEEDS:-3}
EPOCHS=${EPOCHS:-1000}
[ -x "$SW" ] || cargo build --release -q -p spikeworld-cli
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "| α = P/N | runs with zero errors | mean final accuracy | mean epochs |"
echo "|---|---|---|---|"
for a in $ALPHAS; do
  p=$(python3 -c "print(round($a * 500))")
  for s in $(seq 1 "$SEEDS"); do
    "$SW" train scenarios/tempotron_patterns.toml --quiet --out "$out/a${a}_s${s}" --seed "$s" \
      --set tempotron.patterns="$p" --set tempotron.epochs="$EPOCHS"
  done
  python3 - "$a" "$SEEDS" "$out" <<'PY'
import json, sys
a, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
runs = [json.load(open(f"{out}/a{a}_s{s}/train.json")) for s in range(1, n + 1)]
solved = sum(r["solved"] for r in runs)
acc = sum(r["final_accuracy"] for r in runs) / n
ep = sum(r["epochs"] for r in runs) / n
print(f"| {a} | {solved}/{n} | {acc:.4f} | {ep:.0f} |")
PY
done
