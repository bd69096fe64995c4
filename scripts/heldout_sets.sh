#!/usr/bin/env bash
# Every held-out set of a region through scripts/heldout_eval.sh, then one table: MAE / bulk-water MAE, bone Dice,
# and the tissue classes where the sCT is worse than water.
#
#   scripts/heldout_sets.sh [REGION] [WEIGHTS] [WORKDIR]     defaults: pelvis weights runs/heldout-sets-<region>
#
# Sets, 5 cases each (seeds 1000-1004, never trained on): the default look; the second centre; (pelvis) the
# second centre with T2-bright urine; the unseen anatomy (outside the data engine's ranges: tools/phantom/pelvis.py, head.py,
# UNSEEN_PELVIS / UNSEEN_BRAIN). Each set's full report is WORKDIR/<set>.log, its scores WORKDIR/<set>/*.json.
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0; }  # the header above
set -euo pipefail
region=${1:-pelvis}; weights=${2:-weights}; work=${3:-runs/heldout-sets-$region}
sets="default:default second-centre:default"
[ "$region" = pelvis ] && sets="$sets second-centre-t2-urine:default"
sets="$sets default:unseen"
mkdir -p "$work"
for set in $sets; do
    acquisition=${set%%:*}; anatomy=${set##*:}
    name=$([ "$anatomy" = unseen ] && echo unseen-anatomy || echo "$acquisition")
    echo "== $region $name"
    ACQUISITION=$acquisition ANATOMY=$anatomy scripts/heldout_eval.sh "$region" 5 1000 "$weights" "$work/$name" \
        > "$work/$name.log" 2>&1
    grep "^== mean MAE ratio\|^== bone Dice" "$work/$name.log"
done
# shellcheck disable=SC2086  # one argument per set
python - "$work" $sets <<'PY'
import json, sys
work = sys.argv[1]
print(f"\n| {work} | x water | MAE (HU) | water (HU) | bone Dice | worse than water in |\n|---|---|---|---|---|---|")
for spec in sys.argv[2:]:
    acquisition, anatomy = spec.split(":")
    name = "unseen-anatomy" if anatomy == "unseen" else acquisition
    model, water = (json.load(open(f"{work}/{name}/{f}.json")) for f in ("model", "water"))
    tissues = model["tissues"]["mean"]
    worse = [c for c, row in tissues["classes"].items() if row["voxels"] and row["mae"] > row["water_mae"]]
    print(f"| {name} | {model['mean']['mae'] / water['mean']['mae']:.3f} | {model['mean']['mae']:.1f} | "
          f"{water['mean']['mae']:.1f} | {tissues['bone_dice']:.3f} | {', '.join(worse) or 'none'} |")
PY
