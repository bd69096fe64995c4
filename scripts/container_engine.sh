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

serve_folder() {  # DIR: serve it read-only over HTTP on 127.0.0.1 (a free port) until the calling script exits;
    # sets SERVED_URL. pip reads a folder's listing as find-links, so a Docker build reaches local wheels with it.
    local log
    log=$(mktemp)
    python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$1" >"$log" 2>&1 &
    local pid=$!
    trap 'kill '"$pid"' 2>/dev/null || true; rm -f '"$log" EXIT
    local port=""
    for _ in $(seq 50); do
        port=$(sed -n 's/.*port \([0-9][0-9]*\).*/\1/p' "$log" | head -1)
        [[ -n $port ]] && break
        sleep 0.1
    done
    [[ -n $port ]] || die "could not serve $1 over HTTP: $(cat "$log")"
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

run_job() {  # DIR [process.py options]: the image on DIR/input (read-only) -> DIR/output, the platform's way;
    # with MODEL_DIR set, that folder read-only at /opt/ml/model, where the platform extracts a model tarball
    local dir=$1
    shift
    local model=()
    if [[ -n ${MODEL_DIR:-} ]]; then
        [[ -d $MODEL_DIR ]] || die "MODEL_DIR=$MODEL_DIR: not a folder"
        model=(-v "$(cd "$MODEL_DIR" && pwd -P):/opt/ml/model:ro,z")
    fi
    # :z relabels the (temporary) folders for SELinux hosts; elsewhere it is ignored.
    engine run --rm "${PLATFORM_RUN_FLAGS[@]}" ${GPU_RUN_FLAGS[@]+"${GPU_RUN_FLAGS[@]}"} ${model[@]+"${model[@]}"} \
        -v "$dir/input:/input:ro,z" -v "$dir/output:/output:z" "$IMAGE" "$@"
}

remove_tree() {  # DIR (absolute): remove it, with what the container's user wrote there removed from inside a
    # container first (a host user who is not root cannot delete files of uid 10001)
    engine run --rm --network none --user 0:0 -v "$1:/work:z" --entrypoint find "$IMAGE" /work -mindepth 1 -delete \
        || echo "warning: could not empty $1 from inside a container" >&2
    rm -rf "$1"
}
