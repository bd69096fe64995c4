#!/usr/bin/env bash
# Reproduce the demo pelvis weights in weights/pelvis/ (2 CPU cores: about 90 minutes, then about 50 more).
#   scripts/train_demo_pelvis.sh [RUN_DIR]
# 1. The base run (configs/experiments/pelvis_pix2pix_demo_v1.json, the earlier demo weights): 3600 iterations
#    (lr 1e-3, linear decay to 0 from iteration 1800), then resumed to 5400 iterations (the schedule re-planned
#    for 5400: lr 6.7e-4 at 3600, decaying to 0).
# 2. Fine-tuned from it (--init) with MR intensity augmentation, at the model's voxel size of 2.5 x 1 x 1 mm
#    (configs/pelvis_pix2pix_demo.json): 1500 iterations, lr 5e-4 decaying to 0 from iteration 750.
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0; }  # the header above
set -euo pipefail
run=${1:-runs/pelvis-demo}
python -m tools.phantom --region pelvis --cases 24 --seed 0 --out runs/data/pelvis-train
python -m tools.train pix2pix --data runs/data/pelvis-train --config configs/experiments/pelvis_pix2pix_demo_v1.json --out "$run/base"
python -m tools.train pix2pix --data runs/data/pelvis-train --config configs/experiments/pelvis_pix2pix_demo_v1.json --out "$run/base" --resume --iterations 5400
python -m tools.train pix2pix --data runs/data/pelvis-train --config configs/pelvis_pix2pix_demo.json --out "$run/robust" --init "$run/base/model"
echo "model folder: $run/robust/model (copy it to weights/pelvis/, keep weights/pelvis/TRAINING.md, then scripts/make_sample_case.sh)"
