#!/usr/bin/env bash
# The body mask made from the MR (model.body_mask) against the phantoms' true masks, every region and MR variant:
# python -m tools.bench body-mask per set (its per-seed table in WORKDIR/<set>.log, its figures in <set>.json), then
# one table of min and median Dice (docs/dicom.md's).
#   scripts/body_mask_table.sh [WORKDIR]     default runs/body-mask
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0; }  # the header above
set -euo pipefail
cd "$(dirname "$0")/.."
work=${1:-runs/body-mask}
mkdir -p "$work"
names=()
# region:acquisition:anatomy:first seed:end seed
sets="pelvis:default:default:0:6 brain:default:default:0:6 head-and-neck:default:default:0:6
thorax:default:default:0:6 abdomen:default:default:0:6 pelvis:default:unseen:0:6 brain:default:unseen:0:6
pelvis:second-centre:default:0:6 pelvis:second-centre-t2-urine:default:0:16 brain:second-centre:default:0:16
head-and-neck:second-centre:default:0:8 thorax:second-centre:default:0:8 abdomen:second-centre:default:0:8"
for set in $sets; do
    IFS=: read -r region acquisition anatomy first end <<< "$set"
    name=$region-$acquisition-$anatomy
    names+=("$work/$name.json")
    python -m tools.bench body-mask --region "$region" --acquisition "$acquisition" --anatomy "$anatomy" \
        --seeds "$first" "$end" --json "$work/$name.json" > "$work/$name.log"
    tail -1 "$work/$name.log" | sed "s/^/$name: /"
done
python - "${names[@]}" <<'PY'  # this run's sets only, in their order (not other files in WORKDIR)
import json, sys
from pathlib import Path
print("\n| phantoms | seeds | min | median | outline shift, rims | a perfect outline's Dice, min "
      "| the two admissible masks' Dice | k (step 2) |\n|---|---|---|---|---|---|---|---|")
for path in map(Path, sys.argv[1:]):
    f = json.loads(path.read_text())
    look = ", ".join(x for x in (f["acquisition"].replace("-", " "), f["anatomy"] + " anatomy") if x not in ("default", "default anatomy"))
    ks = sorted({c["k"] for c in f["cases"]})
    print(f"| {f['region'].replace('-', ' ')}{', ' + look if look else ''} | {f['seeds'][0]}-{f['seeds'][1] - 1} "
          f"| {f['min']:.4f} | {f['median']:.4f} | {f['shift_rims'][0]:+.2f} to {f['shift_rims'][1]:+.2f} "
          f"| {f['ceiling_min']:.4f} | {f['admissible'][0]:.3f}-{f['admissible'][1]:.3f} "
          f"| {ks[0]}{'-' + str(ks[-1]) if len(ks) > 1 else ''} |")
PY
