#!/usr/bin/env bash
# Reproduce the demo brain weights in weights/brain/ (2 CPU cores): the three stages of the latent
# diffusion model, each starting from the previous stage's exported model folder.
#   scripts/train_demo_brain.sh [RUN_DIR]
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0; }  # the header above
set -euo pipefail
run=${1:-runs/brain-demo}
config=configs/brain_ldm_demo.json
python -m tools.phantom --region brain --cases 24 --seed 0 --out runs/data/brain-train
python -m tools.train autoencoder --data runs/data/brain-train --config $config --out "$run/autoencoder"
python -m tools.train diffusion --data runs/data/brain-train --config $config --out "$run/diffusion" --previous "$run/autoencoder/model"
python -m tools.train controlnet --data runs/data/brain-train --config $config --out "$run/controlnet" --previous "$run/diffusion/model"
echo "model folder: $run/controlnet/model (copy it to weights/brain/, keep weights/brain/TRAINING.md, then scripts/make_sample_case.sh brain)"
