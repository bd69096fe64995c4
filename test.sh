#!/usr/bin/env bash
# Run the image on every sample case under test/cases/ the way grand-challenge.org runs it, and compare its
# output with the case's expected output. The image's label org.grand-challenge.api-method says how:
#   exec    a container per case: the image's entrypoint on /input, read-only, holding only what the platform
#           gives (images/ and region.json)
#   invoke  one container for all the cases, as the platform's adapter drives it: tools/adapter.py (standard
#           library only, mounted read-only for the run, not part of the image) is the container's entrypoint;
#           it starts the image's own entrypoint and command as the image's user, waits for GET /health, and
#           per task empties /input and /output, links the task's files in from a read-only mount and calls
#           POST /invoke. The tasks: every sample case, a bad case (an unreadable MR) after the first - it must
#           fail alone, with one error line and nothing written - and the first case again, cut off by the
#           teardown's SIGTERM 2 s in: the server must exit within 5 s leaving nothing in /output.
#   ./test.sh [--no-build] [--exec]   builds first (./build.sh [--exec]: the invoke image, or the exec one)
#                                   unless --no-build; the image's label then chooses the method
#   ./test.sh --exec --shim         the exec image's cases through the platform's real adapter instead:
#                                   sagemaker-shim 0.3.0a2 in a test-only layer (test/shim/Dockerfile), the
#                                   inputs and outputs on moto's S3 server on the container's loopback
#   MODEL_DIR=DIR ./test.sh         DIR mounted read-only at /opt/ml/model, as the platform extracts an uploaded
#                                   model tarball (./export.sh --model): the image takes its weights from there
#   GPU=1 ./test.sh                 the GPUs given to the container (Docker: --gpus all; Podman: CDI
#                                   nvidia.com/gpu=all, after 'nvidia-ctk cdi generate') and process.py --device cuda
#   CONTAINER_ENGINE, IMAGE as for build.sh
# Every container runs with the platform's limits: network off (invoke: the container's own loopback only), 4 GB
# memory and no swap, no capabilities, no new privileges, 256 processes, 128 MB shared memory, as the image's
# (non-root) user. The comparison runs inside the image (python -m model.compare), so the host needs
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

build=1 build_args=() shim=0
for option in "$@"; do
    case $option in
        --no-build) build=0 ;;
        --exec) build_args+=(--exec) ;;
        --shim) shim=1 ;;
        *) die "unknown option $option (expected --no-build, --exec, --shim or nothing)" ;;
    esac
done
if ((build)); then ./build.sh ${build_args[@]+"${build_args[@]}"}; fi
require_image

user=$(engine image inspect --format '{{.Config.User}}' "$IMAGE")
uid=${user%%:*}
[[ -n $uid && $uid != root && $uid != 0 ]] || die "image $IMAGE runs as root (USER '$user')"
method=$(api_method)
if ((shim)); then
    [[ $method == exec ]] || die "--shim: sagemaker-shim 0.3.0a2 runs the exec method, and $IMAGE is labelled $method (build it with --exec)"
    method=sagemaker-shim
fi

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
chmod 755 "$work"  # the comparison reads it as the image's user
trap 'remove_tree "$work"' EXIT

cases=(test/cases/*/)
[[ -d ${cases[0]} ]] || die "no sample cases under test/cases/"
failed=()
for case in "${cases[@]}"; do
    case=${case%/}
    name=$(basename "$case")
    stage_job "$case" "$work/$name"
    # What the comparison reads: the expected output and the MR (for its grid).
    mkdir "$work/$name/case"
    cp -R "$case/expected_output.json" "$case/expected" "$work/$name/input/images" "$work/$name/case/"
    chmod -R a+rX "$work/$name/case"
done

compare() {  # NAME OUTPUT HOW: the folder OUTPUT (under $work) against the case's expected output
    if engine run --rm --network none -v "$work:/job:ro,z" --entrypoint python "$IMAGE" \
        -m model.compare "/job/$1/case" "/job/$2" ${tolerance[@]+"${tolerance[@]}"}; then
        echo "PASS $1: $3, output matches test/cases/$1/expected_output.json and expected/"
    else
        echo "FAIL $1: the output differs from test/cases/$1's expected output"
        failed+=("$1")
    fi
}

if [[ $method == exec ]]; then
    for case in "${cases[@]}"; do
        name=$(basename "$case")
        echo "== $name: $CONTAINER_ENGINE run ${PLATFORM_RUN_FLAGS[*]} ${GPU_RUN_FLAGS[*]:-}" \
             "-v <$case: images/, region.json>:/input:ro -v <empty folder>:/output" \
             "${MODEL_DIR:+-v $MODEL_DIR:/opt/ml/model:ro }$IMAGE ${process_args[*]:-}"
        SECONDS=0
        status=0
        run_job "$work/$name" ${process_args[@]+"${process_args[@]}"} || status=$?
        if ((status != 0)); then
            echo "FAIL $name: the container exited with $status after $SECONDS s"
            failed+=("$name")
        else
            compare "$name" "$name/output" "$SECONDS s"
        fi
    done
else
    # The tasks as the adapter gets them: each a folder laid out as /input, under /tasks (read-only); a bad
    # case (an unreadable MR) after the first; with our adapter, the first case again, cut off by the SIGTERM.
    tasks=()
    for case in "${cases[@]}"; do tasks+=("$(basename "$case")"); done
    first=${tasks[0]}
    mkdir -p "$work/tasks" "$work/results"
    for name in "${tasks[@]}"; do cp -R "$work/$name/input" "$work/tasks/$name"; done
    cp -R "$work/$first/input" "$work/tasks/bad"
    for mri in "$work/tasks/bad/images/mri/"*; do echo "not an image" >"$mri"; done
    {
        echo "[{\"pk\": \"$first\", \"folder\": \"/tasks/$first\"},"
        echo " {\"pk\": \"bad\", \"folder\": \"/tasks/bad\", \"expect\": \"failure\"},"
        for name in "${tasks[@]:1}"; do echo " {\"pk\": \"$name\", \"folder\": \"/tasks/$name\"},"; done
        if [[ $method == invoke ]]; then
            echo " {\"pk\": \"$first-sigterm\", \"folder\": \"/tasks/$first\", \"sigterm_after_s\": 2},"
        fi
    } | sed '$ s/,$/]/' >"$work/tasks/tasks.json"
    chmod -R a+rX "$work/tasks"
    chmod 777 "$work/results"
    status=0
    if [[ $method == invoke ]]; then
        echo "== invoke: $CONTAINER_ENGINE run ${PLATFORM_RUN_FLAGS[*]} ${GPU_RUN_FLAGS[*]:-}" \
             "-v <tasks: ${tasks[*]}, bad>:/tasks:ro -v <empty folder>:/results" \
             "${MODEL_DIR:+-v $MODEL_DIR:/opt/ml/model:ro }--entrypoint python $IMAGE adapter.py, which starts" \
             "$(engine image inspect --format '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' "$IMAGE") ${process_args[*]:-}"
        run_adapter "$work/tasks" "$work/results" ${process_args[@]+"${process_args[@]}"} || status=$?
    else
        echo "== sagemaker-shim: $CONTAINER_ENGINE build -t $IMAGE-shim --build-arg IMAGE=$IMAGE test/shim"
        engine build --network host -t "$IMAGE-shim" --build-arg "IMAGE=$IMAGE" test/shim
        echo "== sagemaker-shim: $CONTAINER_ENGINE run ${PLATFORM_RUN_FLAGS[*]} (the adapter as root with" \
             "CHOWN DAC_OVERRIDE FOWNER SETUID SETGID; the algorithm as $user) ${GPU_RUN_FLAGS[*]:-}" \
             "-v <tasks: ${tasks[*]}, bad>:/tasks:ro -v <empty folder>:/results $IMAGE-shim ${process_args[*]:-}"
        run_shim "$IMAGE-shim" "$work/tasks" "$work/results" ${process_args[@]+"${process_args[@]}"} || status=$?
        engine rmi "$IMAGE-shim" >/dev/null || true
    fi
    if ((status != 0)); then
        echo "FAIL $method: the adapter exited with $status"
        tail -20 "$work/results/server.log" 2>/dev/null || true
        failed+=("$method")
    fi
    for name in "${tasks[@]}"; do
        if [[ -d $work/results/$name ]]; then
            compare "$name" "results/$name" "through $method"
        else
            echo "FAIL $name: no output from its task"
            failed+=("$name")
        fi
    done
fi
if ((${#failed[@]} > 0)); then
    trap - EXIT
    die "${#failed[@]} of ${#cases[@]} sample cases failed ($method): ${failed[*]}; their inputs and outputs are in $work" \
        "(remove it with: IMAGE=$IMAGE bash -c '. scripts/container_engine.sh && remove_tree $work')"
fi
echo "all ${#cases[@]} sample cases match, $method method (${cases[*]})"
