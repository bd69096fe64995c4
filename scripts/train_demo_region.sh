#!/usr/bin/env bash
# Reproduce the demo weights of a SynthRAD2025 region in weights/<region>/ (2 CPU cores: the head and neck, with its
# second and third schedules, about 105 minutes; the thorax, narrow, wide, then an engine-mixed L1-weighted
# fine-tune, about 100; the abdomen, narrow, wide twice and an L1-weighted fine-tune, about 150): the 3-D
# Pix2Pix fine-tuned from the pelvis demo weights (--init weights/pelvis: every tensor whose name and shape match) on
# 24 phantom cases of the region (seeds 0-23; 2 held out for validation by the seeded split), with MR intensity
# augmentation, at the phantoms' 3 x 1 x 1 mm (configs/<region>_pix2pix_demo.json). Resumable: run it again after an
# interruption and it continues from the last checkpoint.
#   scripts/train_demo_region.sh headneck|thorax|abdomen [RUN_DIR]
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0; }  # the header above
set -euo pipefail
cd "$(dirname "$0")/.."
region=${1:?"usage: scripts/train_demo_region.sh headneck|thorax|abdomen [RUN_DIR]"}
case $region in
    headneck) phantom_region=head-and-neck ;;
    thorax|abdomen) phantom_region=$region ;;
    *) echo "region must be headneck, thorax or abdomen" >&2; exit 2 ;;
esac
run=${2:-runs/$region-demo}
data=runs/data/$region-train
if [[ ! -d $data ]]; then  # drawn into a side folder first: an interrupted draw leaves no half data set
    rm -rf "$data.partial"
    python -m tools.phantom --region "$phantom_region" --cases 24 --seed 0 --out "$data.partial"
    mv "$data.partial" "$data"
fi
resume=()
[[ -f $run/checkpoints/last.pt ]] && resume=(--resume)
python -m tools.train pix2pix --data "$data" --config "configs/${region}_pix2pix_demo.json" --out "$run" \
    --init weights/pelvis "${resume[@]}"
if [[ $region == headneck ]]; then
    # a second schedule: resumed to 4000 iterations (the learning rate back at 5e-4 at 2000, to 0 at 4000), then
    # windows overlapping by half (held-out 0.542 -> 0.511 x water; scripts/inference_check.sh)
    python -m tools.train pix2pix --data "$data" --config "configs/${region}_pix2pix_demo.json" --out "$run" \
        --resume --iterations 4000
    python -m tools.model_folder "$run/model" inference.overlap=0.5
fi
if [[ $region == headneck || $region == thorax || $region == abdomen ]]; then
    # then the generator widened to channels 32-256 (Net2Net, tools/train/widen.py: it starts as the trained one)
    # and trained 2000 iterations more, windows overlapping by half (held-out x water: head and neck 0.511 -> 0.380,
    # thorax 0.310 -> 0.224); this folder is what ships for the head and neck
    wide=()
    [[ -f $run-wide/checkpoints/last.pt ]] && wide=(--resume)
    python -m tools.train pix2pix --data "$data" --config "configs/${region}_pix2pix_demo_wide.json" --out "$run-wide" \
        --init "$run/model" "${wide[@]}"
    if [[ $region == abdomen ]]; then
        # the abdomen's wide network resumed to 4000 iterations, as the head and neck's second schedule
        python -m tools.train pix2pix --data "$data" --config "configs/${region}_pix2pix_demo_wide.json" \
            --out "$run-wide" --resume --iterations 4000
    fi
    python -m tools.model_folder "$run-wide/model" inference.overlap=0.5
    run=$run-wide
fi
if [[ $region == abdomen || $region == thorax ]]; then
    # then 1500 iterations with the L1 term 10 x heavier against the adversarial one (lambda_l1 1000), lr 2e-4, a
    # fresh discriminator; its config has overlap 0.5. The abdomen's on its 22 training cases (held-out x water
    # 0.330 -> 0.286, soft tissue 1.09 -> 0.90); the thorax's with 30 % of its patches from the data engine's wider
    # anatomy (ENGINE_THORAX; held-out 0.224 -> 0.221, soft tissue 0.99 -> 0.88, unseen anatomy 1.086 -> 0.612)
    tuned_config=configs/${region}_pix2pix_demo_wide_l1.json
    [[ $region == thorax ]] && tuned_config=configs/thorax_pix2pix_demo_wide_engine_l1.json
    tuned=()
    [[ -f $run-l1/checkpoints/last.pt ]] && tuned=(--resume)
    python -m tools.train pix2pix --data "$data" --config "$tuned_config" --out "$run-l1" --init "$run/model" "${tuned[@]}"
    run=$run-l1
fi
echo "model folder: $run/model (copy it to weights/$region/, write weights/$region/TRAINING.md, then scripts/make_sample_case.sh $region)"
