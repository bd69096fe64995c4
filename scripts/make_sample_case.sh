#!/usr/bin/env bash
# (Re)make test/cases/pelvis: a phantom pelvis case as a container /input folder (seed 909, not a
# training seed), its ground-truth CT, and the expected output of the bundled weights on it
# (expected_output.json = results.json, expected/<uuid>.mha = the sCT). Run after changing weights/pelvis.
set -euo pipefail
cd "$(dirname "$0")/.."
case_dir=test/cases/pelvis
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python -m model.phantom --region pelvis --cases 1 --seed 909 --out "$tmp/cases" --layout container
rm -rf "$case_dir"
mkdir -p "$(dirname "$case_dir")"
mv "$tmp/cases/1PX0909" "$case_dir"
python process.py --input "$case_dir" --output "$tmp/output" --weights weights --device cpu
cp "$tmp/output/results.json" "$case_dir/expected_output.json"
mkdir -p "$case_dir/expected"
cp "$tmp"/output/images/synthetic-ct/*.mha "$case_dir/expected/"
find "$case_dir" -type f | sort
