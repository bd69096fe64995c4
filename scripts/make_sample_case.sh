#!/usr/bin/env bash
# (Re)make a sample case test/cases/<region>: a phantom case as a container /input folder (a seed not
# used in training), its ground-truth CT, and the expected output of the bundled weights on it
# (expected_output.json = results.json, expected/<uuid>.mha = the sCT). Run after changing weights/<region>.
#   scripts/make_sample_case.sh [pelvis|brain|headneck|thorax|abdomen] [SEED]
#   (default pelvis; the seeds: pelvis 909, brain 919, headneck 929, thorax 939, abdomen 949)
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0; }  # the header above
set -euo pipefail
cd "$(dirname "$0")/.."
region=${1:-pelvis}
case $region in
    pelvis) seed=${2:-909}; prefix=1PX; phantom_region=pelvis ;;
    brain) seed=${2:-919}; prefix=1BX; phantom_region=brain ;;
    headneck) seed=${2:-929}; prefix=1HNX; phantom_region=head-and-neck ;;
    thorax) seed=${2:-939}; prefix=1THX; phantom_region=thorax ;;
    abdomen) seed=${2:-949}; prefix=1ABX; phantom_region=abdomen ;;
    *) echo "region must be pelvis, brain, headneck, thorax or abdomen" >&2; exit 2 ;;
esac
case_dir=test/cases/$region
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python -m tools.phantom --region "$phantom_region" --cases 1 --seed "$seed" --out "$tmp/cases" --layout container
rm -rf "$case_dir"
mkdir -p "$(dirname "$case_dir")"
mv "$tmp/cases/$prefix$(printf %04d "$seed")" "$case_dir"
rm -rf "$case_dir/structures"  # the planning structures (for tools.dose) are not part of a sample case
python process.py --input "$case_dir" --output "$tmp/output" --weights weights --device cpu
cp "$tmp/output/results.json" "$case_dir/expected_output.json"
mkdir -p "$case_dir/expected"
cp "$tmp"/output/images/synthetic-ct/*.mha "$case_dir/expected/"
find "$case_dir" -type f | sort
