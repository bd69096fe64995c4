#!/usr/bin/env bash
# Run process.py twice on the same input with the same weights (so the same sampler seed) and check
# that every sCT is bit-identical.
#   scripts/same_seed_twice.sh [INPUT] [WEIGHTS] [DEVICE]   (defaults: test/cases/brain weights cpu)
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0; }  # the header above
set -euo pipefail
input=${1:-test/cases/brain}; weights=${2:-weights}; device=${3:-cpu}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for run in a b; do
    python process.py --input "$input" --output "$tmp/$run" --weights "$weights" --device "$device"
done
python - "$tmp" <<'PY'
import sys
from pathlib import Path

import numpy as np
import SimpleITK as sitk

tmp = Path(sys.argv[1])
files = sorted((tmp / "a" / "images" / "synthetic-ct").glob("*.mha"))
assert files, "no sCT written"
for a in files:
    b = tmp / "b" / "images" / "synthetic-ct" / a.name
    va, vb = (sitk.GetArrayFromImage(sitk.ReadImage(str(p))) for p in (a, b))
    same = va.shape == vb.shape and np.array_equal(va, vb)
    print(f"{a.name}: {'bit-identical' if same else 'DIFFERENT'} ({va.size} voxels, max |diff| {np.abs(va.astype(int) - vb.astype(int)).max()} HU)")
    if not same:
        sys.exit(1)
PY
