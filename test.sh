#!/usr/bin/env bash
# Run the image on every sample case under test/cases/ the way grand-challenge.org runs it, and compare its
# output with the case's expected output.
#   ./test.sh [--no-build]          builds first (./build.sh) unless --no-build
#   MODEL_DIR=DIR ./test.sh         DIR mounted read-only at /opt/ml/model, as the platform extracts an uploaded
#                                   model tarball (./export.sh --model): the image takes its weights from there
#   GPU=1 ./test.sh                 the GPUs given to the container (Docker: --gpus all; Podman: CDI
#                                   nvidia.com/gpu=all, after 'nvidia-ctk cdi generate') and process.py --device cuda
#   CONTAINER_ENGINE, IMAGE as for build.sh
# Each case runs with the platform's limits: network off, 4 GB memory and no swap, no capabilities, no new
# privileges, 256 processes, 128 MB shared memory, /input read-only and holding only what the platform gives
# (images/ and region.json). The comparison runs inside the image (python -m model.compare), so the host needs
# only the engine: results.json exactly, the sCT's geometry exactly, its voxels within
#   MAX_ABS_HU (default: model.compare's, 2 HU) at every voxel on the CPU: the same weights and input differ
#   only in floating-point summation order;
#   MEAN_ABS_HU (default 5) in the mean, and no per-voxel bound unless MAX_ABS_HU is set, with GPU=1: fp16
#   sampling on a GPU moves more than the last bits (this bound has not been measured on a GPU yet).
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0; }  # the header above
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=scripts/container_engine.sh
. scripts/container_engine.sh

if [[ ${1:-} == --no-build ]]; then shift; else ./build.sh; fi
require_image

user=$(engine image inspect --format '{{.Config.User}}' "$IMAGE")
uid=${user%%:*}
[[ -n $uid && $uid != root && $uid != 0 ]] || die "image $IMAGE runs as root (USER '$user')"

process_args=()  # the platform passes none: --device auto
tolerance=()
if [[ -n ${MAX_ABS_HU:-} ]]; then tolerance+=(--max-abs-hu "$MAX_ABS_HU"); fi
if [[ ${GPU:-0} == 1 ]]; then
    if [[ $CONTAINER_ENGINE == docker ]]; then GPU_RUN_FLAGS=(--gpus all); else GPU_RUN_FLAGS=(--device nvidia.com/gpu=all); fi
    process_args=(--device cuda)  # fail rather than quietly fall back to the CPU
    [[ -n ${MAX_ABS_HU:-} ]] || tolerance+=(--max-abs-hu -1)
    tolerance+=(--mean-abs-hu "${MEAN_ABS_HU:-5}")
fi

work=$(mktemp -d)
work=$(cd "$work" && pwd -P)
trap 'remove_tree "$work"' EXIT

cases=(test/cases/*/)
[[ -d ${cases[0]} ]] || die "no sample cases under test/cases/"
failed=()
for case in "${cases[@]}"; do
    case=${case%/}
    name=$(basename "$case")
    dir="$work/$name"
    stage_job "$case" "$dir"
    # What the comparison reads: the expected output and the MR (for its grid).
    mkdir "$dir/case"
    cp -R "$case/expected_output.json" "$case/expected" "$dir/input/images" "$dir/case/"
    chmod -R a+rX "$dir/case"
    echo "== $name: $CONTAINER_ENGINE run ${PLATFORM_RUN_FLAGS[*]} ${GPU_RUN_FLAGS[*]:-}" \
         "-v <$case: images/, region.json>:/input:ro -v <empty folder>:/output" \
         "${MODEL_DIR:+-v $MODEL_DIR:/opt/ml/model:ro }$IMAGE ${process_args[*]:-}"
    SECONDS=0
    status=0
    run_job "$dir" ${process_args[@]+"${process_args[@]}"} || status=$?
    seconds=$SECONDS
    if ((status != 0)); then
        echo "FAIL $name: the container exited with $status after $seconds s"
        failed+=("$name")
        continue
    fi
    if engine run --rm --network none -v "$dir:/job:ro,z" --entrypoint python "$IMAGE" \
        -m model.compare /job/case /job/output ${tolerance[@]+"${tolerance[@]}"}; then
        echo "PASS $name: $seconds s, output matches $case/expected_output.json and $case/expected/"
    else
        echo "FAIL $name: the output differs from $case's expected output"
        failed+=("$name")
    fi
done
if ((${#failed[@]} > 0)); then
    trap - EXIT
    die "${#failed[@]} of ${#cases[@]} sample cases failed: ${failed[*]}; their inputs and outputs are in $work" \
        "(remove it with: IMAGE=$IMAGE bash -c '. scripts/container_engine.sh && remove_tree $work')"
fi
echo "all ${#cases[@]} sample cases match (${cases[*]})"
