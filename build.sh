#!/usr/bin/env bash
# Build the algorithm image from the Dockerfile.
#   ./build.sh
#   CONTAINER_ENGINE=docker|podman  IMAGE=name (default synthrad-sct)
#   PIP_FIND_LINKS=DIR   a folder of wheels pip prefers to PyPI's (Podman: mounted into the build). The CI
#                        machines use it for their local CPU build of torch; left unset, the image gets
#                        torch's CUDA build from PyPI, which a GPU needs.
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=scripts/container_engine.sh
. scripts/container_engine.sh

args=(-t "$IMAGE")
if [[ $CONTAINER_ENGINE == podman ]]; then
    args+=(--network host)  # the build's own downloads; the image runs with the network off
fi
if [[ -n ${PIP_FIND_LINKS:-} ]]; then
    [[ -d $PIP_FIND_LINKS ]] || die "PIP_FIND_LINKS=$PIP_FIND_LINKS: not a folder"
    [[ $CONTAINER_ENGINE == podman ]] || die "PIP_FIND_LINKS needs Podman (docker build cannot mount a folder)"
    dir=$(cd "$PIP_FIND_LINKS" && pwd)
    args+=(-v "$dir:$dir:ro" --build-arg "PIP_FIND_LINKS=$dir")
fi
echo "building $IMAGE with $CONTAINER_ENGINE (Dockerfile sha256 $(sha256sum Dockerfile | cut -c1-12))"
engine build "${args[@]}" .
engine image inspect --format "$IMAGE: {{.Size}} bytes, user {{.Config.User}}, entrypoint {{.Config.Entrypoint}}" "$IMAGE"
