# Sourced by build.sh, test.sh, export.sh and scripts/container_ci.sh: which container engine, which image,
# and how grand-challenge.org runs a job.
#   CONTAINER_ENGINE=docker|podman   default: docker when its engine answers, else podman
#   IMAGE=name                       default: synthrad-sct
# shellcheck shell=bash

die() { echo "error: $*" >&2; exit 1; }

if [[ -z ${CONTAINER_ENGINE:-} ]]; then
    if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
        CONTAINER_ENGINE=docker
    elif command -v podman >/dev/null 2>&1; then
        CONTAINER_ENGINE=podman
    elif command -v docker >/dev/null 2>&1; then
        die "docker is installed but its engine does not answer ('docker info' fails) and Podman is absent"
    else
        die "no container engine: install Docker or Podman, or set CONTAINER_ENGINE"
    fi
fi
case $CONTAINER_ENGINE in
    docker | podman) command -v "$CONTAINER_ENGINE" >/dev/null 2>&1 || die "CONTAINER_ENGINE=$CONTAINER_ENGINE: not installed" ;;
    *) die "CONTAINER_ENGINE=$CONTAINER_ENGINE: expected docker or podman" ;;
esac
IMAGE=${IMAGE:-synthrad-sct}
engine() { "$CONTAINER_ENGINE" "$@"; }

require_image() {
    engine image inspect "$IMAGE" >/dev/null 2>&1 || die "image $IMAGE not found: run ./build.sh first"
}

serve_folder() {  # DIR: serve it read-only over HTTP on 127.0.0.1 until the calling script exits; sets SERVED_URL.
    # pip reads a folder's listing as find-links, so a Docker build reaches local wheels with it. The port is
    # SERVE_PORT (default 38471) where it is free, so that the URL - a build argument, part of Docker's layer
    # cache key - is the same from one build to the next; else any free port.
    local log pid port=""
    log=$(mktemp)
    for try in "${SERVE_PORT:-38471}" 0; do
        python3 -u -m http.server "$try" --bind 127.0.0.1 --directory "$1" >"$log" 2>&1 &
        pid=$!
        for _ in $(seq 50); do
            port=$(sed -n 's/.*port \([0-9][0-9]*\).*/\1/p' "$log" | head -1)
            [[ -n $port ]] && break
            kill -0 "$pid" 2>/dev/null || break  # the port is taken
            sleep 0.1
        done
        [[ -n $port ]] && break
    done
    [[ -n $port ]] || die "could not serve $1 over HTTP: $(cat "$log")"
    trap 'kill '"$pid"' 2>/dev/null || true; rm -f '"$log" EXIT
    SERVED_URL="http://127.0.0.1:$port/"
    echo "serving $1 at $SERVED_URL for the build"
}

short_sha256() {  # FILE: the first 12 hex digits of its sha256 (GNU or BSD tools)
    if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1"; else shasum -a 256 "$1"; fi | cut -c1-12
}

# How grand-challenge.org runs an algorithm (its template's test.sh): network off, 4 GB and no swap, no
# capabilities, no new privileges, 256 processes, 128 MB of shared memory.
PLATFORM_RUN_FLAGS=(--network none --memory 4g --memory-swap 4g --cap-drop ALL --security-opt no-new-privileges
                    --pids-limit 256 --shm-size 128m)
GPU_RUN_FLAGS=()  # test.sh's GPU=1 fills it

stage_job() {  # CASE DIR: DIR/input as the platform mounts it (images/, region.json only), DIR/output empty
    mkdir -p "$2/input" "$2/output"
    cp -R "$1/images" "$1/region.json" "$2/input/"
    chmod -R a+rX "$2/input"
    chmod 777 "$2/output"  # writable by the container's user, whatever its uid
}

model_mount() {  # with MODEL_DIR set, MODEL_MOUNT: that folder read-only at /opt/ml/model, where the platform
    # extracts a model tarball
    MODEL_MOUNT=()
    if [[ -n ${MODEL_DIR:-} ]]; then
        [[ -d $MODEL_DIR ]] || die "MODEL_DIR=$MODEL_DIR: not a folder"
        MODEL_MOUNT=(-v "$(cd "$MODEL_DIR" && pwd -P):/opt/ml/model:ro,z")
    fi
}

run_job() {  # DIR [process.py options]: the image on DIR/input (read-only) -> DIR/output, the platform's way
    # (exec); with MODEL_DIR, that folder as the model tarball
    local dir=$1
    shift
    model_mount
    # :z relabels the (temporary) folders for SELinux hosts; elsewhere it is ignored.
    engine run --rm "${PLATFORM_RUN_FLAGS[@]}" ${GPU_RUN_FLAGS[@]+"${GPU_RUN_FLAGS[@]}"} ${MODEL_MOUNT[@]+"${MODEL_MOUNT[@]}"} \
        -v "$dir/input:/input:ro,z" -v "$dir/output:/output:z" "$IMAGE" "$@"
}

api_method() {  # how grand-challenge runs $IMAGE: its label org.grand-challenge.api-method, exec without one
    local label
    label=$(engine image inspect --format '{{index .Config.Labels "org.grand-challenge.api-method"}}' "$IMAGE")
    case $label in
        invoke | exec) echo "$label" ;;
        "" | "<no value>") echo exec ;;
        *) die "image $IMAGE: label org.grand-challenge.api-method is '$label' (expected invoke or exec)" ;;
    esac
}

platform_command() {  # [process.py options]: PLATFORM_COMMAND, the variables through which the platform gives its
    # adapter $IMAGE's entrypoint and command (base64 JSON), the options appended to the command
    local entrypoint cmd
    entrypoint=$(engine image inspect --format '{{json .Config.Entrypoint}}' "$IMAGE")
    cmd=$(engine image inspect --format '{{json .Config.Cmd}}' "$IMAGE")
    if (($#)); then
        [[ $cmd == null || $cmd == "[]" ]] && cmd="[" || cmd="${cmd%]},"
        cmd="$cmd$(printf '"%s",' "$@")"
        cmd="${cmd%,}]"
    fi
    PLATFORM_COMMAND=(-e "GRAND_CHALLENGE_COMPONENT_ENTRYPOINT_B64J=$(printf %s "$entrypoint" | base64 | tr -d '\n')"
                      -e "GRAND_CHALLENGE_COMPONENT_CMD_B64J=$(printf %s "$cmd" | base64 | tr -d '\n')")
}

run_adapter() {  # TASKS RESULTS [process.py options]: the invoke method, the platform's way: one container whose
    # entrypoint is our adapter (tools/adapter.py, mounted read-only), started with the platform's variables for
    # the image's entrypoint and command and the platform's flags, as the image's user; the tasks
    # (TASKS/tasks.json, and the folders it names) read-only at /tasks, the report and outputs in RESULTS
    local tasks=$1 results=$2
    shift 2
    model_mount
    platform_command "$@"
    engine run --rm "${PLATFORM_RUN_FLAGS[@]}" ${GPU_RUN_FLAGS[@]+"${GPU_RUN_FLAGS[@]}"} ${MODEL_MOUNT[@]+"${MODEL_MOUNT[@]}"} \
        "${PLATFORM_COMMAND[@]}" -v "$PWD/tools/adapter.py:/opt/adapter/adapter.py:ro,z" \
        -v "$tasks:/tasks:ro,z" -v "$results:/results:z" \
        --entrypoint python "$IMAGE" /opt/adapter/adapter.py --tasks /tasks/tasks.json --results /results
}

run_shim() {  # LAYER TASKS RESULTS [process.py options]: the exec method through the platform's real adapter,
    # sagemaker-shim, in LAYER (test/shim/Dockerfile on $IMAGE): it runs as root, as on the platform, with only
    # the capabilities it needs to start the algorithm as the image's user and to empty /input and /output
    # between tasks; S3 is moto's server on the container's loopback
    local layer=$1 tasks=$2 results=$3
    shift 3
    model_mount
    platform_command "$@"
    engine run --rm "${PLATFORM_RUN_FLAGS[@]}" --cap-add CHOWN --cap-add DAC_OVERRIDE --cap-add FOWNER \
        --cap-add SETUID --cap-add SETGID ${GPU_RUN_FLAGS[@]+"${GPU_RUN_FLAGS[@]}"} ${MODEL_MOUNT[@]+"${MODEL_MOUNT[@]}"} \
        "${PLATFORM_COMMAND[@]}" -e "GRAND_CHALLENGE_COMPONENT_USER=$(engine image inspect --format '{{.Config.User}}' "$IMAGE")" \
        -v "$tasks:/tasks:ro,z" -v "$results:/results:z" "$layer" --tasks /tasks/tasks.json --results /results
}

remove_tree() {  # DIR (absolute): remove it, with what the container's user wrote there removed from inside a
    # container first (a host user who is not root cannot delete files of uid 10001)
    engine run --rm --network none --user 0:0 -v "$1:/work:z" --entrypoint find "$IMAGE" /work -mindepth 1 -delete \
        || echo "warning: could not empty $1 from inside a container" >&2
    rm -rf "$1"
}
