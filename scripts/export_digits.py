"""Exports scikit-learn's bundled 8x8 digits (1797 images) to .npy for spikeworld.

Writes data/digits/x.npy (uint8, [1797, 64], pixel values 0..16, row-major 8x8) and
data/digits/y.npy (uint8, [1797], labels 0..9) in scikit-learn's order. Run through
scripts/export_digits.sh, which installs scikit-learn into a private venv.
"""
import pathlib
import sys

import numpy as np
from sklearn.datasets import load_digits

out = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "data/digits")
out.mkdir(parents=True, exist_ok=True)
d = load_digits()
x = d.data.astype(np.uint8)
y = d.target.astype(np.uint8)
assert x.shape == (1797, 64) and y.shape == (1797,) and x.max() == 16
np.save(out / "x.npy", x)
np.save(out / "y.npy", y)
print(f"wrote {out}/x.npy {x.shape} and {out}/y.npy {y.shape}")
