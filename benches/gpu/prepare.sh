#!/usr/bin/env bash
# Builds here (no GPU needed) everything benches/gpu/sitting.sh runs on the GPU host, into
# .dev/ (git-ignored), and the anchors' files into .gpu/; then carry [".dev", ".gpu"].
#   .dev/spikeworld.gz       the CLI with --features cuda (run --device cuda, train --device cuda)
#   .dev/anchor.gz           the training anchor (examples/anchor.rs) with --features cuda
#   .dev/cube.gz             tests/cube.rs with --features cuda (cubetest)
#   .dev/train_device.gz     tests/train_device.rs with --features cuda (cubetest)
# All stripped and gzipped (a call carries at most 64 MiB with the tree: sitting.sh unpacks
# them). TARGET: the CUDA build's target dir (default /work/target-cuda, apart from the
# CPU build's so that neither rebuilds the other).
# Usage: bash benches/gpu/prepare.sh   (from anywhere; a first build takes about 20 minutes on 2 cores)
set -euo pipefail
cd "$(dirname "$0")/../.."
TD=${TARGET:-/work/target-cuda}
mkdir -p .dev .gpu
for p in /.dev/ /.gpu/ /.whl/; do grep -qxF "$p" .git/info/exclude 2>/dev/null || echo "$p" >> .git/info/exclude; done
cargo build --release -p spikeworld-cli --features cuda --target-dir "$TD"
strip -o .dev/spikeworld "$TD/release/spikeworld"
cargo build --release -p spikeworld-train-surrogate --example anchor --features cuda --target-dir "$TD"
strip -o .dev/anchor "$TD/release/examples/anchor"
for t in cube train_device; do
  exe=$(cargo test --release -p spikeworld-train-surrogate --features cuda --test "$t" --no-run --target-dir "$TD" 2>&1 \
    | sed -n 's/.*Executable .*(\(.*\))$/\1/p' | tail -1)
  [ -x "$exe" ] || { echo "prepare: no test binary for $t" >&2; exit 1; }
  strip -o ".dev/$t" "$exe"
done
for f in spikeworld anchor cube train_device; do gzip -f ".dev/$f"; done
# The anchors: Brian2 and SpikingJelly wheels and their scripts (../shared/bench/gpu/).
S=../shared/bench
if [ -d "$S/gpu" ]; then
  [ -d .gpu/whl ] || bash "$S/gpu/prepare_wheels.sh" .gpu
  cp "$S"/gpu/*.py "$S"/gpu/*.sh .gpu/ 2>/dev/null || true
  cp "$S/bench_brian2.py" .gpu/ 2>/dev/null || true
fi
du -sh .dev .gpu
