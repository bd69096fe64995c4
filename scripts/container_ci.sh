#!/usr/bin/env bash
# The container's whole path on a CI machine (root, no Docker engine, no registry): build the image from the
# unchanged Dockerfile with Podman, run it on every sample case with the platform's flags (./test.sh), export
# the tarball (./export.sh), remove the image, load the tarball back and run the sample cases again.
#   scripts/container_ci.sh            (.ci/run calls it after the test suite)
# Installs Podman, runc and debootstrap when they are missing, and makes a local stand-in for the base image
# when it is missing (scripts/make_base_standin.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
step() { echo; echo "== [$(($(date +%s) - t0)) s] $*"; }

step "tools"
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v debootstrap >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah runc debootstrap >/dev/null
fi
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/.ci/containers.conf}
export CONTAINER_ENGINE=podman IMAGE=${IMAGE:-synthrad-sct}
# shellcheck source=scripts/container_engine.sh
. scripts/container_engine.sh
podman --version

step "base image"
if podman image exists docker.io/library/python:3.11-slim; then
    echo "docker.io/library/python:3.11-slim: present"
else
    scripts/make_base_standin.sh
fi

if git diff --quiet HEAD -- Dockerfile .dockerignore 2>/dev/null; then
    state="as committed at $(git rev-parse --short HEAD)"
else
    state="WITH UNCOMMITTED CHANGES"
fi
step "build from the Dockerfile $state"
if [[ -d /opt/wheels ]]; then export PIP_FIND_LINKS=/opt/wheels; fi  # this machine's CPU build of torch
./build.sh

step "image contents and user"
contents=$(podman run --rm --network none --entrypoint ls "$IMAGE" /opt/algorithm | tr '\n' ' ')
echo "/opt/algorithm: $contents"
[[ $contents == "__pycache__ model process.py requirements.txt weights " ]] || die "unexpected files in the image"
podman run --rm --network none --entrypoint id "$IMAGE"
[[ $(podman run --rm --network none --entrypoint id "$IMAGE" -u) != 0 ]] || die "the image runs as root"

step "test.sh: every sample case, platform flags, network off, /input read-only"
./test.sh --no-build

step "bad input under the same flags: one line naming the file, exit 1, nothing written"
bad=$(mktemp -d)
stage_job test/cases/pelvis "$bad"
echo '"Thorax"' >"$bad/input/region.json"
status=0
run_job "$bad" 2>"$bad/stderr" || status=$?
cat "$bad/stderr"
written=$(find "$bad/output" -mindepth 1 | tr '\n' ' ')
[[ $status == 1 && $(wc -l <"$bad/stderr") == 1 && -z $written ]] \
    || die "bad input: exit $status, $(wc -l <"$bad/stderr") lines on stderr, written: '$written'"
remove_tree "$bad"

step "export.sh"
./export.sh --no-build "$IMAGE"

step "load the tarball back (the image removed first) and run the sample cases again"
podman rmi "$IMAGE"
gzip -dc "$IMAGE.tar.gz" | podman load  # Podman 4.3 does not unpack a gzipped archive itself
./test.sh --no-build
rm -f "$IMAGE.tar.gz"

step "done: image $IMAGE $(podman image inspect --format '{{.Size}}' "$IMAGE") bytes"
