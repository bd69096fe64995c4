#!/usr/bin/env bash
# A local stand-in for the Dockerfile's base image, docker.io/library/python:3.11-slim, for machines that
# reach no container registry (the CI machines): Debian bookworm (minbase) with its Python 3.11, pip and CA
# certificates, made to look like the official image (python and pip on PATH, pip allowed to install), and
# imported into Podman under the official tag so that the Dockerfile builds unchanged.
#   scripts/make_base_standin.sh            (root; needs debootstrap and podman)
[[ ${1:-} != -h && ${1:-} != --help ]] || { sed -n '2,/^[^#]/s/^# \{0,1\}//p' "$0"; exit 0; }  # the header above
set -euo pipefail
TAG=docker.io/library/python:3.11-slim
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

rootfs=$(mktemp -d)
chmod 0755 "$rootfs"  # the image's / as in the official image: mktemp's 0700 would keep uid 10001 out of / under
                      # a storage driver that keeps the layer's root mode (Docker's vfs: "stat /bin/sh: permission denied")
trap 'rm -rf "$rootfs"' EXIT
debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,ca-certificates \
    bookworm "$rootfs" "$MIRROR" >"$rootfs.log" 2>&1 \
    || { echo "error: debootstrap bookworm from $MIRROR failed; the end of its log:" >&2; tail -20 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"
ln -sf /usr/bin/python3 "$rootfs/usr/local/bin/python"
ln -sf /usr/bin/pip3 "$rootfs/usr/local/bin/pip"
rm -f "$rootfs"/usr/lib/python3.*/EXTERNALLY-MANAGED
# Package downloads at build time may go through a proxy whose certificate is only in this machine's bundle.
if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
    cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
fi
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
tar -C "$rootfs" -cf - . | podman import \
    --change 'ENV PATH=/usr/local/bin:/usr/local/sbin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' - "$TAG"
echo "$TAG: stand-in made from Debian bookworm ($(podman run --rm "$TAG" python --version))"
