#!/usr/bin/env bash
# Reproduce the demo brain weights in weights/brain/ (2 CPU cores): the three stages of the latent
# diffusion model, each starting from the previous stage's exported model folder
# (configs/experiments/brain_ldm_demo_v1.json, the earlier demo weights), then the ControlNet fine-tuned from
# its own weights (--init) with MR intensity augmentation (configs/brain_ldm_demo.json: the same networks,
# only training.controlnet differs).
#   scripts/train_demo_brain.sh [RUN_DIR]
set -euo pipefail
run=${1:-runs/brain-demo}
base=configs/experiments/brain_ldm_demo_v1.json
python -m model.phantom --region brain --cases 24 --seed 0 --out runs/data/brain-train
python -m model.train autoencoder --data runs/data/brain-train --config $base --out "$run/autoencoder"
python -m model.train diffusion --data runs/data/brain-train --config $base --out "$run/diffusion" --previous "$run/autoencoder/model"
python -m model.train controlnet --data runs/data/brain-train --config $base --out "$run/controlnet" --previous "$run/diffusion/model"
python -m model.train controlnet --data runs/data/brain-train --config configs/brain_ldm_demo.json --out "$run/controlnet-robust" \
    --previous "$run/diffusion/model" --init "$run/controlnet/model"
echo "model folder: $run/controlnet-robust/model (copy it to weights/brain/, keep weights/brain/TRAINING.md, then scripts/make_sample_case.sh brain)"
