#!/usr/bin/env bash
# Reproduce the demo pelvis weights in weights/pelvis/ (2 CPU cores: about 50 minutes).
#   scripts/train_demo_pelvis.sh [RUN_DIR]
set -euo pipefail
run=${1:-runs/pelvis-demo}
python -m model.phantom --region pelvis --cases 24 --seed 0 --out runs/data/pelvis-train
python -m model.train pix2pix --data runs/data/pelvis-train --config configs/pelvis_pix2pix_demo.json --out "$run"
echo "model folder: $run/model (copy it to weights/pelvis/, keep weights/pelvis/TRAINING.md)"
