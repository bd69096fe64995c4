#!/usr/bin/env bash
# Build the algorithm image from the Dockerfile.
#   ./build.sh                 the image with the bundled weights/ for grand-challenge's invoke method (the
#                              Dockerfile's last stage): label org.grand-challenge.api-method=invoke, command
#                              --serve (process.py loads every model once and serves POST /invoke a case at a time)
#   ./build.sh --exec          the exec method instead (stage exec): no command, one process.py run a case
#   ./build.sh --no-weights    the image without the weights (stages invoke-without-weights, with --exec
#                              exec-without-weights): process.py then takes the model from grand-challenge's model
#                              tarball, extracted to /opt/ml/model (./export.sh --model)
#   CONTAINER_ENGINE=docker|podman  IMAGE=name (default synthrad-sct)
#   PIP_FIND_LINKS=DIR   a folder of wheels pip prefers to PyPI's: mounted into the build by Podman, served on
#                        127.0.0.1 for the build (with --network host) by Docker, which cannot mount one. The CI
#                        machines use it for their local CPU build of torch; left unset, the image gets
#                        torch's CUDA build from PyPI, which a GPU needs.
#   PIP_EXTRA_INDEX_URL=URL  another index for pip, e.g. https://download.pytorch.org/whl/cu126: torch's CUDA
#                        12.6 build, for an NVIDIA driver older than CUDA 13.0's (580)
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0; }  # the header above
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=scripts/container_engine.sh
. scripts/container_engine.sh

method=invoke weights=""
for option in "$@"; do
    case $option in
        --exec) method="exec" ;;
        --no-weights) weights=-without-weights ;;
        *) die "unknown option $option (expected --exec, --no-weights or nothing)" ;;
    esac
done
args=(-t "$IMAGE" --target "$method$weights")
if [[ $CONTAINER_ENGINE == podman ]]; then
    args+=(--network host)  # the build's own downloads; the image runs with the network off
fi
if [[ -n ${PIP_FIND_LINKS:-} ]]; then
    [[ -d $PIP_FIND_LINKS ]] || die "PIP_FIND_LINKS=$PIP_FIND_LINKS: not a folder"
    dir=$(cd "$PIP_FIND_LINKS" && pwd)
    if [[ $CONTAINER_ENGINE == podman ]]; then
        args+=(-v "$dir:$dir:ro" --build-arg "PIP_FIND_LINKS=$dir")
    else
        serve_folder "$dir"  # sets SERVED_URL; stopped when this script exits
        args+=(--network host --build-arg "PIP_FIND_LINKS=$SERVED_URL")
    fi
fi
if [[ -n ${PIP_EXTRA_INDEX_URL:-} ]]; then
    args+=(--build-arg "PIP_EXTRA_INDEX_URL=$PIP_EXTRA_INDEX_URL")
fi
echo "building $IMAGE with $CONTAINER_ENGINE (Dockerfile sha256 $(short_sha256 Dockerfile)) ${args[*]:2}"
engine build "${args[@]}" .
engine image inspect --format "$IMAGE: {{.Size}} bytes, user {{.Config.User}}, entrypoint {{.Config.Entrypoint}}, \
command {{.Config.Cmd}}, api-method {{index .Config.Labels \"org.grand-challenge.api-method\"}}" "$IMAGE"
