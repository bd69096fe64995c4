#!/usr/bin/env bash
# Build the image and save it as <name>.tar.gz for upload to grand-challenge.org.
#   ./export.sh [name]      (CONTAINER_ENGINE=docker|podman; docker by default, podman where docker is absent)
set -euo pipefail
cd "$(dirname "$0")"
name=${1:-synthrad-sct}
engine=${CONTAINER_ENGINE:-docker}
command -v "$engine" >/dev/null 2>&1 || engine=podman
"$engine" build -t "$name" .
"$engine" save "$name" | gzip -c > "$name.tar.gz"
echo "$name.tar.gz: $(du -h "$name.tar.gz" | cut -f1)"
