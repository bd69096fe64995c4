#!/usr/bin/env bash
# Score a model folder on held-out phantom cases through the real entry point, next to the water baseline.
#
#   scripts/heldout_eval.sh [REGION] [CASES] [SEED] [WEIGHTS] [WORKDIR]
#   defaults: pelvis 5 1000 weights runs/heldout-<region>
#
# 1. phantom cases in the container layout (seeds SEED .. SEED+CASES-1; training used other seeds),
# 2. one process.py run over all of them (MRs and masks paired by file name),
# 3. tools.evaluation on the sCTs and on the bulk-water baseline (0 HU inside the body), with the SynthRAD2023
#    metrics and again with SynthRAD2025's (--challenge 2025: PSNR to 3071 HU, masked MS-SSIM);
# ACQUISITION=second-centre (or second-centre-t2-urine, pelvis only) makes the cases' MR as another centre would
# (tools/phantom/acquisition.py, "Second-centre variant": the same anatomy, CT and mask as the default cases of those seeds);
# ANATOMY=unseen draws anatomy outside the data engine's training ranges (pelvis: very obese, a very full bladder,
# large gas, case ids 1PU...; brain: a thick skull and scalp fat, large ventricles, wide sulci, 1BU...). Every evaluation prints a table by the CT's tissue class beside bulk water;
# the model's, one by the phantom's planning structures too (target and organs: mean HU, error, lung-like share).
# 4. with DOSE=1 (and the dose tools, requirements-dose.txt): each case's dose evaluation, photon and proton plans
#    on the CT recalculated on the sCT and on bulk water, with the phantom's target and organs (tools.evaluation --dose),
#    into WORKDIR/dose/ (summary.md, and per case metrics.json, report.md, pictures).
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0; }  # the header above
set -euo pipefail
region=${1:-pelvis}; cases=${2:-5}; seed=${3:-1000}; weights=${4:-weights}; work=${5:-runs/heldout-$region}
rm -rf "$work"
python -m tools.phantom --region "$region" --cases "$cases" --seed "$seed" --out "$work/cases" --layout container \
    --acquisition "${ACQUISITION:-default}" --anatomy "${ANATOMY:-default}"
mkdir -p "$work/input/images/mri" "$work/input/images/body" "$work/input/ground-truth"
for case in "$work"/cases/*/; do  # the files named by case id (1PX1000.mha), so every table lists cases by id
    id=$(basename "$case")
    echo "case $id: $(ls "$case"images/mri/)"
    cp "$case"images/mri/*.mha "$work/input/images/mri/$id.mha"
    cp "$case"images/body/*.mha "$work/input/images/body/$id.mha"
    cp "$case"ground-truth/*.mha "$work/input/ground-truth/$id.mha"
    mkdir -p "$work/input/structures/$id" && cp "$case"structures/*.mha "$work/input/structures/$id/"
    cp "$case"region.json "$work/input/region.json"
done
python process.py --input "$work/input" --output "$work/output" --weights "$weights" --device cpu
echo "== model ($weights)"
python -m tools.evaluation --pred "$work/output/images/synthetic-ct" --gt "$work/input/ground-truth" \
    --mask "$work/input/images/body" --structures "$work/input/structures" --json "$work/model.json"
echo "== bulk-water baseline"
python -m tools.evaluation --baseline water --gt "$work/input/ground-truth" \
    --mask "$work/input/images/body" --json "$work/water.json"
echo "== SynthRAD2025 metrics: model, then bulk water"
python -m tools.evaluation --challenge 2025 --pred "$work/output/images/synthetic-ct" --gt "$work/input/ground-truth" \
    --mask "$work/input/images/body" --json "$work/model_2025.json"
python -m tools.evaluation --challenge 2025 --baseline water --gt "$work/input/ground-truth" \
    --mask "$work/input/images/body" --json "$work/water_2025.json"
python - "$work" <<'PY'
import json, sys
work = sys.argv[1]
model, water, model25, water25 = (json.load(open(f"{work}/{name}.json"))["mean"]
                                  for name in ("model", "water", "model_2025", "water_2025"))
print(f"== mean MAE ratio model/water: {model['mae'] / water['mae']:.3f}; "
      f"PSNR {model['psnr']:.2f} vs {water['psnr']:.2f} dB; SSIM {model['ssim']:.4f} vs {water['ssim']:.4f}")
print(f"== SynthRAD2025: PSNR {model25['psnr']:.2f} vs {water25['psnr']:.2f} dB; "
      f"MS-SSIM {model25['ms_ssim']:.4f} vs {water25['ms_ssim']:.4f}")
tissues = json.load(open(f"{work}/model.json"))["tissues"]["mean"]
worse = [name for name, row in tissues["classes"].items() if row["voxels"] and row["mae"] > row["water_mae"]]
print(f"== bone Dice {tissues['bone_dice']:.3f}; worse than water in: {', '.join(worse) or 'no class'}")
PY
if [ "${DOSE:-0}" = 1 ]; then
    echo "== dose (photon and proton plans on the CT, recalculated on the sCT and on bulk water)"
    python -m tools.evaluation --pred "$work/output/images/synthetic-ct" --gt "$work/input/ground-truth" \
        --mask "$work/input/images/body" --dose "$work/dose" --structures "$work/input/structures" --region "$region"
fi
