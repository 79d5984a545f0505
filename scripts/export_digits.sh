#!/usr/bin/env bash
# Re-creates data/digits/{x,y}.npy from scikit-learn's bundled digits, in a private venv
# (~/.cache/spikeworld-sklearn). The files are committed; this documents and repeats how.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-$HOME/.cache/spikeworld-sklearn}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q "scikit-learn>=1.3" numpy
"$VENV/bin/python" scripts/export_digits.py data/digits
