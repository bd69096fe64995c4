#!/usr/bin/env bash
# Run the image on every sample case under test/cases/ the way grand-challenge.org runs it, and compare its
# output with the case's expected output.
#   ./test.sh [--no-build]          builds first (./build.sh) unless --no-build
#   GPU=1 ./test.sh                 give the container the GPUs (Docker --gpus all; Podman CDI nvidia.com/gpu=all)
#   CONTAINER_ENGINE, IMAGE as for build.sh
# Each case runs with the platform's limits: network off, 4 GB memory and no swap, no capabilities, no new
# privileges, 256 processes, 128 MB shared memory, /input read-only and holding only what the platform gives
# (images/ and region.json). The comparison runs inside the image (python -m model.compare), so the host needs
# only the engine: results.json exactly, the sCT's geometry exactly, its voxels within
#   MAX_ABS_HU (default 2) at every voxel on the CPU: the same weights and input differ only in
#   floating-point summation order;
#   MEAN_ABS_HU (default 5) in the mean, and no per-voxel bound, with GPU=1: fp16 sampling on a GPU moves
#   more than the last bits (this bound has not been measured on a GPU yet).
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=scripts/container_engine.sh
. scripts/container_engine.sh

if [[ ${1:-} == --no-build ]]; then shift; else ./build.sh; fi
engine image inspect "$IMAGE" >/dev/null 2>&1 || die "image $IMAGE not found: run ./build.sh first"

user=$(engine image inspect --format '{{.Config.User}}' "$IMAGE")
[[ -n $user && $user != root && $user != 0 && $user != 0:* ]] || die "image $IMAGE runs as root (USER '$user')"

platform=("${PLATFORM_RUN_FLAGS[@]}")
process_args=()  # the platform passes none: --device auto
tolerance=(--max-abs-hu "${MAX_ABS_HU:-2}")
if [[ ${GPU:-0} == 1 ]]; then
    if [[ $CONTAINER_ENGINE == docker ]]; then platform+=(--gpus all); else platform+=(--device nvidia.com/gpu=all); fi
    process_args=(--device cuda)  # fail rather than quietly fall back to the CPU
    tolerance=(--max-abs-hu "${MAX_ABS_HU:--1}" --mean-abs-hu "${MEAN_ABS_HU:-5}")
fi

work=$(mktemp -d)
cleanup() {
    # The outputs belong to the container's user: remove them from inside a container, then the rest.
    engine run --rm --network none -v "$work:/work" --entrypoint find "$IMAGE" /work -mindepth 2 -delete \
        >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT

cases=(test/cases/*/)
((${#cases[@]} > 0)) && [[ -d ${cases[0]} ]] || die "no sample cases under test/cases/"
failed=()
for case in "${cases[@]}"; do
    case=${case%/}
    name=$(basename "$case")
    input="$work/$name-input" output="$work/$name-output"
    mkdir -p "$input" "$output"
    cp -r "$case/images" "$case/region.json" "$input/"
    chmod -R a+rX "$input"
    chmod 777 "$output"  # writable by the container's user, whatever its uid
    echo "== $name: $CONTAINER_ENGINE run ${platform[*]} -v $case(images, region.json):/input:ro $IMAGE ${process_args[*]}"
    start=$(date +%s%N)
    status=0
    engine run --rm "${platform[@]}" -v "$(realpath "$input"):/input:ro" -v "$(realpath "$output"):/output" \
        "$IMAGE" "${process_args[@]}" || status=$?
    seconds=$((($(date +%s%N) - start) / 1000000000))
    if ((status != 0)); then
        echo "FAIL $name: the container exited with $status after ${seconds} s"
        failed+=("$name")
        continue
    fi
    if engine run --rm --network none -v "$(realpath "$case"):/case:ro" -v "$(realpath "$output"):/output:ro" \
        --entrypoint python "$IMAGE" -m model.compare /case /output "${tolerance[@]}"; then
        echo "PASS $name: ${seconds} s, output matches $case/expected_output.json and $case/expected/"
    else
        echo "FAIL $name: the output differs from $case's expected output"
        failed+=("$name")
    fi
done
if ((${#failed[@]} > 0)); then
    trap - EXIT
    die "${#failed[@]} of ${#cases[@]} sample cases failed: ${failed[*]} (inputs and outputs kept in $work)"
fi
echo "all ${#cases[@]} sample cases match (${cases[*]})"
