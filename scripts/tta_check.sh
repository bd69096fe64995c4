#!/usr/bin/env bash
# Test-time flips measured: a region's model folder scored on the held-out phantoms (seeds 1000-1004) and on their
# second-centre variant, as shipped and with inference.tta_flips ["x"] (a copy of the folder, its manifest
# rewritten), through scripts/heldout_eval.sh; the per-case times come from process.py's log.
#   scripts/tta_check.sh [REGION] [WEIGHTS] [WORKDIR]     defaults: pelvis weights runs/tta-<region>
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0; }  # the header above
set -euo pipefail
cd "$(dirname "$0")/.."
region=${1:-pelvis}; weights=${2:-weights}; work=${3:-runs/tta-$region}
rm -rf "$work" && mkdir -p "$work/flipped"
cp -r "$weights/$region" "$work/flipped/$region"
python - "$work/flipped/$region" <<'PY'
import json, sys
from pathlib import Path
from model.weights import write_manifest
folder = Path(sys.argv[1])
config = json.loads((folder / "config.json").read_text())
config.setdefault("inference", {})["tta_flips"] = ["x"]
(folder / "config.json").write_text(json.dumps(config, indent=2) + "\n")
write_manifest(folder)
PY
for acquisition in default second-centre; do
    for variant in shipped flipped; do
        folder=$weights; [ $variant = flipped ] && folder=$work/flipped
        ACQUISITION=$acquisition scripts/heldout_eval.sh "$region" 5 1000 "$folder" "$work/$acquisition-$variant" \
            > "$work/$acquisition-$variant.log" 2>&1
        seconds=$(grep -o 'device cpu, [0-9.]* s' "$work/$acquisition-$variant.log" | awk '{print $3}' | sort -n \
            | awk '{s[NR]=$1} END {print s[int((NR+1)/2)]}')
        echo "$acquisition $variant: $(grep '== mean MAE ratio' "$work/$acquisition-$variant.log" | sed 's/== //'); MAE $(python -c "import json; print(round(json.load(open('$work/$acquisition-$variant/model.json'))['mean']['mae'], 2))") HU; median $seconds s a case"
    done
done
