#!/usr/bin/env bash
# One inference setting measured: a region's model folder scored on the held-out phantoms (seeds 1000-1004) and on
# their second-centre variant, as shipped and with inference.KEY = VALUE (a copy of the folder: python -m
# tools.model_folder), through scripts/heldout_eval.sh; the per-case times come from process.py's log.
#   scripts/inference_check.sh REGION KEY VALUE [WEIGHTS] [WORKDIR]    defaults: weights runs/inference-<region>-<KEY>
#   e.g. scripts/inference_check.sh head-and-neck overlap 0.25;  scripts/inference_check.sh pelvis tta_flips '[]'
#   REGION: pelvis, brain, head-and-neck, thorax or abdomen; VALUE: JSON.
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0; }  # the header above
set -euo pipefail
cd "$(dirname "$0")/.."
region=${1:?REGION}; key=${2:?KEY}; value=${3:?VALUE}; weights=${4:-weights}; work=${5:-runs/inference-$region-$key}
folder=${region//-and-/}  # the model folder's name: head-and-neck -> headneck
rm -rf "$work" && mkdir -p "$work/changed"
cp -r "$weights/$folder" "$work/changed/$folder"
python -m tools.model_folder "$work/changed/$folder" "inference.$key=$value"  # checked, manifest rewritten
for acquisition in default second-centre; do
    for variant in shipped changed; do
        root=$weights; label=shipped
        [ $variant = changed ] && { root=$work/changed; label="$key=$value"; }
        ACQUISITION=$acquisition scripts/heldout_eval.sh "$region" 5 1000 "$root" "$work/$acquisition-$variant" \
            > "$work/$acquisition-$variant.log" 2>&1
        seconds=$(grep -o 'device cpu, [0-9.]* s' "$work/$acquisition-$variant.log" | awk '{print $3}' | sort -n \
            | awk '{s[NR]=$1} END {print s[int((NR+1)/2)]}')
        echo "$acquisition $label: $(grep '== mean MAE ratio' "$work/$acquisition-$variant.log" | sed 's/== //'); MAE $(python -c "import json; print(round(json.load(open('$work/$acquisition-$variant/model.json'))['mean']['mae'], 2))") HU; median $seconds s a case"
    done
done
