#!/usr/bin/env bash
# The container's whole path on a CI machine (root, no registry), with one engine:
#   scripts/container_ci.sh podman   build from the unchanged Dockerfile (the invoke image), run every sample
#                                    case with the platform's flags through our adapter (./test.sh: a bad case
#                                    between, SIGTERM mid-case at the end); python -m model.dicom in the image
#                                    on the pelvis sample as a DICOM series; the exec image (./build.sh --exec):
#                                    every sample case a container each, through sagemaker-shim 0.3.0a2 (./test.sh
#                                    --shim), and bad input refused in one line; export (./export.sh), remove the
#                                    image, load the tarball back and run again; then the image without weights
#                                    (./build.sh --no-weights) on the sample cases with the weights as a model
#                                    tarball extracted to a stand-in /opt/ml/model
#   scripts/container_ci.sh docker   the same builds, runs (invoke, exec, sagemaker-shim) and export with Docker
#                                    (what users run): a private daemon on its own socket, started here and
#                                    stopped at the end; the tarball loaded back must be the same image
# .ci/run calls both after the test suite. Installs what is missing (Podman, runc, debootstrap; Docker's
# daemon from Debian's docker.io) and makes a local stand-in for the base image when it is missing
# (scripts/make_base_standin.sh, into Podman; Docker loads it from Podman). Both builds share that base
# image and this machine's wheel of torch (PIP_FIND_LINKS=/opt/wheels where present).
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0; }  # the header above
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
step() { echo; echo "== [$(($(date +%s) - t0)) s, $CONTAINER_ENGINE] $*"; }
install() { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }

export CONTAINER_ENGINE=${1:-podman} IMAGE=${IMAGE:-synthrad-sct}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/.ci/containers.conf}
BASE=docker.io/library/python:3.11-slim

step "tools"
if ! command -v podman >/dev/null || ! command -v runc >/dev/null || ! command -v debootstrap >/dev/null; then
    install podman buildah runc debootstrap
fi
if [[ $CONTAINER_ENGINE == docker ]]; then
    if ! command -v dockerd >/dev/null; then install docker.io; fi
    # A private daemon: its own socket, state and data in a temporary folder, removed at the end; no iptables or
    # bridge (containers run with the network off; builds use the host's). overlay2 where the kernel allows it, as
    # Podman's storage here; vfs (a full copy per layer, slower and larger) otherwise. DOCKER_STORAGE_DRIVER="vfs"
    # (or another list) chooses.
    run_dir=$(mktemp -d /tmp/dockerd-ci.XXXXXX)
    export DOCKER_HOST=unix://$run_dir/docker.sock
    stop_dockerd() {
        local pid
        pid=$(cat "$run_dir/pid" 2>/dev/null || true)
        if [[ -n $pid ]]; then
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        fi
        umount "$run_dir/exec/netns/default" 2>/dev/null || true  # left mounted by a daemon that was killed
        rm -rf "$run_dir"
    }
    trap stop_dockerd EXIT
    for driver in ${DOCKER_STORAGE_DRIVER:-overlay2 vfs}; do
        dockerd --iptables=false --bridge=none --storage-driver="$driver" --data-root "$run_dir/data" \
            --exec-root "$run_dir/exec" --pidfile "$run_dir/pid" --host "$DOCKER_HOST" >"$run_dir/dockerd.log" 2>&1 &
        for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
        if docker info >/dev/null 2>&1; then break; fi
        echo "dockerd with $driver did not start; the end of its log:"; tail -5 "$run_dir/dockerd.log"
        kill %% 2>/dev/null || true
        wait 2>/dev/null || true
        rm -rf "$run_dir/data" "$run_dir/pid"
    done
    docker info >/dev/null 2>&1 || { echo "error: no Docker daemon would start" >&2; exit 1; }
    echo "dockerd $(docker version --format '{{.Server.Version}}'), storage $(docker info --format '{{.Driver}}'), $DOCKER_HOST"
else
    podman --version
fi
# shellcheck source=scripts/container_engine.sh
. scripts/container_engine.sh

step "base image"
if engine image inspect "$BASE" >/dev/null 2>&1; then
    echo "$BASE: present"
else
    podman image exists "$BASE" || scripts/make_base_standin.sh
    if [[ $CONTAINER_ENGINE == docker ]]; then
        podman save "$BASE" | docker load  # the same stand-in, not a second debootstrap
    fi
fi

if git diff --quiet HEAD -- Dockerfile .dockerignore 2>/dev/null; then
    state="as committed at $(git rev-parse --short HEAD)"
else
    state="WITH UNCOMMITTED CHANGES"
fi
step "build from the Dockerfile $state"
if [[ -d /opt/wheels ]]; then export PIP_FIND_LINKS=/opt/wheels; fi  # this machine's CPU build of torch
./build.sh

check_contents() {  # EXPECTED: the files in /opt/algorithm, and a user that is not root
    local contents
    contents=$(engine run --rm --network none --entrypoint ls "$IMAGE" /opt/algorithm | tr '\n' ' ')
    echo "/opt/algorithm: $contents"
    [[ $contents == "$1" ]] || die "unexpected files in the image (expected: $1)"
    # the image's code is the runtime package, model/, exactly as the checkout has it, and no developer tool
    # (tools/: training, phantoms, the data engine, evaluation, dose, benchmarks, the GPU check) is importable there
    local shipped expected
    shipped=$(engine run --rm --network none --entrypoint find "$IMAGE" /opt/algorithm/model -name '*.py' \
        | sed 's|^/opt/algorithm/||' | sort | tr '\n' ' ')
    expected=$(find model -name '*.py' | sort | tr '\n' ' ')
    [[ $shipped == "$expected" ]] || die "the image's model/ differs from the checkout's: $shipped"
    echo "/opt/algorithm/model: the checkout's $(wc -w <<<"$expected") modules"
    engine run --rm --network none --entrypoint python "$IMAGE" -c \
        'import importlib.util, sys; sys.exit(importlib.util.find_spec("tools") is not None)' \
        || die "the developer tools (tools/) are importable in the image"
    engine run --rm --network none --entrypoint id "$IMAGE"
    [[ $(engine run --rm --network none --entrypoint id "$IMAGE" -u) != 0 ]] || die "the image runs as root"
}
check_method() {  # METHOD COMMAND: the image's label org.grand-challenge.api-method and its command
    local cmd
    cmd=$(engine image inspect --format '{{json .Config.Cmd}}' "$IMAGE")
    [[ $cmd != "[]" ]] || cmd=null  # no command, as either engine writes it
    echo "api-method $(api_method), command $cmd"
    [[ $(api_method) == "$1" && $cmd == "$2" ]] || die "expected api-method $1 and command $2"
}
step "image contents, user, method"
check_contents "__pycache__ model process.py requirements.txt weights "
check_method invoke '["--serve"]'

step "test.sh, invoke: our adapter in the container, every sample case and a bad one through one server, SIGTERM mid-case"
./test.sh --no-build

step "python -m model.dicom in the image, network off: the pelvis sample's MR as a DICOM series -> an sCT series"
dicom=$(mktemp -d)
chmod 777 "$dicom"
mri=$(basename test/cases/pelvis/images/mri/*.mha)
# the test series, written by tools/dicom_mr.py (mounted for this run only) with the image's own Python
engine run --rm --network none -e PYTHONPATH=/opt/algorithm -v "$PWD/tools/dicom_mr.py:/opt/dicom_mr.py:ro,z" \
    -v "$PWD/test/cases/pelvis:/case:ro,z" -v "$dicom:/work:z" --entrypoint python "$IMAGE" \
    /opt/dicom_mr.py --mha "/case/images/mri/$mri" --out /work/mr --file-names shuffled --instance-numbers reversed >/dev/null
engine run --rm "${PLATFORM_RUN_FLAGS[@]}" -v "$dicom/mr:/mr:ro,z" -v "$PWD/test/cases/pelvis:/case:ro,z" \
    -v "$dicom:/out:z" --entrypoint python "$IMAGE" -m model.dicom --mr /mr --out /out/sct \
    --mask "/case/images/body/$mri"
# the sCT series read back in the image: the expected sCT's voxels (within test.sh's 2 HU) on the MR series' grid
engine run --rm --network none -v "$dicom:/work:ro,z" -v "$PWD/test/cases/pelvis:/case:ro,z" --entrypoint python \
    "$IMAGE" -c "
import numpy as np, SimpleITK as sitk
from model.dicom.read import read_series
sct, mr = read_series('/work/sct', modality='CT').image, read_series('/work/mr').image
expected = sitk.GetArrayFromImage(sitk.ReadImage('/case/expected/$mri')).astype(int)
assert all(np.allclose(f(sct), f(mr), atol=1e-4) for f in (sitk.Image.GetOrigin, sitk.Image.GetSpacing, sitk.Image.GetDirection))
diff = np.abs(sitk.GetArrayFromImage(sct).astype(int) - expected)
assert diff.max() <= 2, diff.max()
print(f'the sCT series: {sct.GetSize()[2]} slices on the MR series grid, max |diff| {diff.max()} HU from the expected sCT')"
remove_tree "$dicom"

step "the exec image: ./build.sh --exec (the same layers, the exec label, no command)"
IMAGE=$IMAGE-exec ./build.sh --exec
IMAGE=$IMAGE-exec check_method exec null

step "test.sh, exec: every sample case a container, platform flags, network off, /input read-only"
IMAGE=$IMAGE-exec ./test.sh --no-build

step "bad input under the same flags: one line naming the file, exit 1, nothing written"
bad=$(mktemp -d)
stage_job test/cases/pelvis "$bad"
echo '"Knee"' >"$bad/input/region.json"
status=0
IMAGE=$IMAGE-exec run_job "$bad" 2>"$bad/stderr" || status=$?
cat "$bad/stderr"
written=$(find "$bad/output" -mindepth 1 | tr '\n' ' ')
[[ $status == 1 && $(wc -l <"$bad/stderr") == 1 && -z $written ]] \
    || die "bad input: exit $status, $(wc -l <"$bad/stderr") lines on stderr, written: '$written'"
remove_tree "$bad"

step "test.sh --shim: the exec image through the platform's adapter, sagemaker-shim 0.3.0a2, S3 on moto"
IMAGE=$IMAGE-exec ./test.sh --no-build --shim
engine rmi "$IMAGE-exec" >/dev/null

if [[ $CONTAINER_ENGINE == podman ]]; then  # before the export: the build reuses this build's cached layers
    step "without weights: ./build.sh --no-weights, the weights as a model tarball in a stand-in /opt/ml/model"
    upload=$(mktemp -d)
    ./export.sh --model weights "$upload/model.tar.gz"
    mkdir "$upload/opt-ml-model"
    tar -C "$upload/opt-ml-model" -xzf "$upload/model.tar.gz"
    chmod -R a+rX "$upload"
    IMAGE=$IMAGE-without-weights ./build.sh --no-weights
    IMAGE=$IMAGE-without-weights check_contents "__pycache__ model process.py requirements.txt "
    IMAGE=$IMAGE-without-weights check_method invoke '["--serve"]'
    IMAGE=$IMAGE-without-weights MODEL_DIR=$upload/opt-ml-model ./test.sh --no-build
    engine rmi "$IMAGE-without-weights" >/dev/null
    rm -rf "$upload"
fi

step "export.sh"
./export.sh --no-build "$IMAGE"
id=$(engine image inspect --format '{{.Id}}' "$IMAGE")

step "load the tarball back (the image removed first)"
engine rmi "$IMAGE" >/dev/null
gzip -dc "$IMAGE.tar.gz" | engine load  # Podman 4.3 does not unpack a gzipped archive itself
rm -f "$IMAGE.tar.gz"
[[ $(engine image inspect --format '{{.Id}}' "$IMAGE") == "$id" ]] || die "the loaded image is not the one saved"
echo "loaded back: the same image ($id)"
size=$(engine image inspect --format '{{.Size}}' "$IMAGE")

if [[ $CONTAINER_ENGINE == podman ]]; then
    step "the loaded image on every sample case again"
    ./test.sh --no-build
fi

step "done: image $IMAGE $size bytes ($CONTAINER_ENGINE)"
