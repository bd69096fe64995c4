#!/usr/bin/env bash
# The prepared GPU check on a machine that may lack MONAI and the network (the lent GPU machines):
#   here, once:   pip download monai==1.6.1 --no-deps -d .device/wheels     (.device/ is git-ignored)
#   there:        scripts/gpu_check.sh OUT_DIR [--only SECTION ...]          (carry .device/wheels)
# MONAI is installed from the carried wheel into .device/site (no index, no dependencies) when it does not
# import; then python -m tools.gpu_check writes OUT_DIR/results.json and OUT_DIR/results.md.
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0; }  # the header above
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:?usage: scripts/gpu_check.sh OUT_DIR [--only SECTION ...]}"
shift
if ! python -c "import monai" 2>/dev/null; then
    wheel=$(find .device/wheels -name "monai-*.whl" 2>/dev/null | head -n 1 || true)
    if [ -z "$wheel" ]; then
        echo "error: .device/wheels: no MONAI wheel to install (pip download monai==1.6.1 --no-deps -d .device/wheels)" >&2
        exit 1
    fi
    pip install --quiet --no-index --no-deps --target .device/site "$wheel"
    export PYTHONPATH="$PWD/.device/site${PYTHONPATH:+:$PYTHONPATH}"
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true
python -m tools.gpu_check --out "$out" "$@"
