#!/usr/bin/env bash
# Build the image and save it as <name>.tar.gz, the file to upload to grand-challenge.org.
#   ./export.sh [--no-build] [name]     name defaults to the image's name without registry, tag or digest
#   CONTAINER_ENGINE, IMAGE, PIP_FIND_LINKS, PIP_EXTRA_INDEX_URL as for build.sh
set -euo pipefail
cd "$(dirname "$0")"
# shellcheck source=scripts/container_engine.sh
. scripts/container_engine.sh

build=1
if [[ ${1:-} == --no-build ]]; then build=0; shift; fi
base=${IMAGE##*/}
base=${base%%@*}
name=${1:-${base%%:*}}
((build == 0)) || ./build.sh
require_image

partial="$name.tar.gz.partial"
trap 'rm -f "$partial"' EXIT
if [[ $CONTAINER_ENGINE == podman ]]; then
    engine save --format docker-archive "$IMAGE" | gzip -c >"$partial"
else
    engine save "$IMAGE" | gzip -c >"$partial"
fi
mv "$partial" "$name.tar.gz"
echo "$name.tar.gz: $(wc -c <"$name.tar.gz" | tr -d ' ') bytes ($(du -h "$name.tar.gz" | cut -f1))"
