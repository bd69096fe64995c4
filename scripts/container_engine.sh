# Sourced by build.sh, test.sh and export.sh: which container engine and which image.
#   CONTAINER_ENGINE=docker|podman   default: docker when its engine answers, else podman
#   IMAGE=name                       default: synthrad-sct
# shellcheck shell=bash

die() { echo "error: $*" >&2; exit 1; }

if [[ -z ${CONTAINER_ENGINE:-} ]]; then
    if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
        CONTAINER_ENGINE=docker
    elif command -v podman >/dev/null 2>&1; then
        CONTAINER_ENGINE=podman
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
# How grand-challenge.org runs an algorithm (its template's test.sh): network off, 4 GB and no swap, no
# capabilities, no new privileges, 256 processes, 128 MB of shared memory.
# shellcheck disable=SC2034  # used by the scripts that source this file
PLATFORM_RUN_FLAGS=(--network none --memory 4g --memory-swap 4g --cap-drop ALL --security-opt no-new-privileges
                    --pids-limit 256 --shm-size 128m)
