#!/usr/bin/env bash
# What to upload to grand-challenge.org: the algorithm image, and optionally its weights as a model tarball.
#   ./export.sh [--no-build] [--exec] [--no-weights] [name]
#        builds the image (./build.sh [--exec] [--no-weights]: the invoke method unless --exec) unless
#        --no-build, and saves it as <name>.tar.gz; name defaults to the image's name without registry, tag or
#        digest. The platform reads the method from the image's label org.grand-challenge.api-method.
#   ./export.sh --model [WEIGHTS_DIR [OUTPUT]]
#        writes the model folders of WEIGHTS_DIR (default weights/) as OUTPUT (default model.tar.gz), each
#        checked against its manifest first. Uploaded as the algorithm's model, the platform extracts it to
#        /opt/ml/model for every job, and process.py takes it instead of the image's bundled weights: a new
#        model without a new image. No container engine is needed for this.
#   CONTAINER_ENGINE, IMAGE, PIP_FIND_LINKS, PIP_EXTRA_INDEX_URL as for build.sh
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0; }  # the header above
set -euo pipefail
cd "$(dirname "$0")"

die() { echo "error: $*" >&2; exit 1; }

export_model() {  # WEIGHTS_DIR OUTPUT
    local weights=$1 output=$2 folders=() folder sha256=(sha256sum)
    command -v sha256sum >/dev/null 2>&1 || sha256=(shasum -a 256)  # GNU or BSD tools
    [[ -d $weights ]] || die "$weights: not a folder"
    for folder in "$weights"/*/; do
        folder=${folder%/}
        [[ -f $folder/config.json ]] || continue
        [[ -f $folder/manifest.sha256 ]] || die "$folder/manifest.sha256: missing: a model folder needs its manifest"
        (cd "$folder" && "${sha256[@]}" --quiet -c manifest.sha256) || die "$folder: a file differs from its manifest"
        folders+=("$(basename "$folder")")
    done
    ((${#folders[@]} > 0)) || die "$weights: no model folder (a subfolder with a config.json)"
    partial="$output.partial"
    trap 'rm -f "$partial"' EXIT
    # The model folders at the archive's top: the platform extracts it to /opt/ml/model/<folder>/.
    tar -C "$weights" -cf - "${folders[@]}" | gzip -n -c >"$partial"
    mv "$partial" "$output"
    echo "$output: ${folders[*]} ($(wc -c <"$output" | tr -d ' ') bytes): upload it as the algorithm's model"
}

if [[ ${1:-} == --model ]]; then
    export_model "${2:-weights}" "${3:-model.tar.gz}"
    exit 0
fi

# shellcheck source=scripts/container_engine.sh
. scripts/container_engine.sh
build=1
build_args=()
while [[ ${1:-} == --* ]]; do
    case $1 in
        --no-build) build=0 ;;
        --no-weights | --exec) build_args+=("$1") ;;
        *) die "unknown option $1" ;;
    esac
    shift
done
base=${IMAGE##*/}
base=${base%%@*}
name=${1:-${base%%:*}}
((build == 0)) || ./build.sh ${build_args[@]+"${build_args[@]}"}
require_image

partial="$name.tar.gz.partial"
trap 'rm -f "$partial"' EXIT
if [[ $CONTAINER_ENGINE == podman ]]; then
    engine save --format docker-archive "$IMAGE" | gzip -c >"$partial"
else
    engine save "$IMAGE" | gzip -c >"$partial"
fi
mv "$partial" "$name.tar.gz"
echo "$name.tar.gz: $(wc -c <"$name.tar.gz" | tr -d ' ') bytes ($(du -h "$name.tar.gz" | cut -f1)), the $(api_method) method"
