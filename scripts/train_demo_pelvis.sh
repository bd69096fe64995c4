#!/usr/bin/env bash
# Reproduce the demo pelvis weights in weights/pelvis/ (2 CPU cores: about 90 minutes).
#   scripts/train_demo_pelvis.sh [RUN_DIR]
# The demo run was trained in two steps: 3600 iterations (lr 1e-3, linear decay to 0 from iteration 1800),
# then resumed to 5400 iterations (the schedule re-planned for 5400: lr 6.7e-4 at 3600, decaying to 0).
set -euo pipefail
run=${1:-runs/pelvis-demo}
python -m model.phantom --region pelvis --cases 24 --seed 0 --out runs/data/pelvis-train
python -m model.train pix2pix --data runs/data/pelvis-train --config configs/pelvis_pix2pix_demo.json --out "$run"
python -m model.train pix2pix --data runs/data/pelvis-train --config configs/pelvis_pix2pix_demo.json --out "$run" --resume --iterations 5400
echo "model folder: $run/model (copy it to weights/pelvis/, keep weights/pelvis/TRAINING.md, then scripts/make_sample_case.sh)"
