#!/usr/bin/env bash
# Build the image and save it as <name>.tar.gz, the file to upload to grand-challenge.org.
#   ./export.sh [--no-build] [name]     name defaults to the image's name without registry or tag
#   CONTAINER_ENGINE, IMAGE, PIP_FIND_LINKS, PIP_EXTRA_INDEX_URL as for build.sh
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=scripts/container_engine.sh
. scripts/container_engine.sh

build=1
if [[ ${1:-} == --no-build ]]; then build=0; shift; fi
image_name=${IMAGE%%:*}
name=${1:-${image_name##*/}}
((build == 0)) || ./build.sh
engine image inspect "$IMAGE" >/dev/null 2>&1 || die "image $IMAGE not found: run ./build.sh first"

partial="$name.tar.gz.partial"
trap 'rm -f "$partial"' EXIT
if [[ $CONTAINER_ENGINE == podman ]]; then
    engine save --format docker-archive "$IMAGE" | gzip -c >"$partial"
else
    engine save "$IMAGE" | gzip -c >"$partial"
fi
mv "$partial" "$name.tar.gz"
echo "$name.tar.gz: $(stat -c %s "$name.tar.gz") bytes ($(du -h "$name.tar.gz" | cut -f1))"
