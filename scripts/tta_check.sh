#!/usr/bin/env bash
# Test-time flips measured: a region's model folder scored on the held-out phantoms (seeds 1000-1004) and on their
# second-centre variant, as shipped and with inference.tta_flips ["x"] (scripts/inference_check.sh).
#   scripts/tta_check.sh [REGION] [WEIGHTS] [WORKDIR]     defaults: pelvis weights runs/tta-<region>
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0; }  # the header above
set -euo pipefail
cd "$(dirname "$0")/.."
region=${1:-pelvis}
exec scripts/inference_check.sh "$region" tta_flips '["x"]' "${2:-weights}" "${3:-runs/tta-$region}"
