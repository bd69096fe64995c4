# grand-challenge.org algorithm image: SynthRAD2023 Task 1, MR -> synthetic CT (brain and pelvis).
#   ./build.sh   (or: docker build -t synthrad-sct .)
# Built normally, pip takes torch's CUDA build from PyPI (the T4 needs it; torch 2.13.0 on PyPI is CUDA 13.0,
# which needs an NVIDIA driver >= 580). PIP_EXTRA_INDEX_URL picks another build, e.g. CUDA 12.6 from
# https://download.pytorch.org/whl/cu126 for an older driver. Where a folder of local wheels is mounted at build
# time and named in PIP_FIND_LINKS (build.sh does both), pip takes a wheel from there: the CPU build on the CI
# machines. Nothing is downloaded when the image runs.
FROM python:3.11-slim

ARG PIP_FIND_LINKS=""
ARG PIP_EXTRA_INDEX_URL=""

# A non-root user with a fixed numeric id, which the host need not know (USER by name may not resolve there).
RUN groupadd -g 10001 algorithm \
    && useradd -m --no-log-init -u 10001 -g algorithm algorithm \
    && mkdir -p /opt/algorithm /input /output \
    && chown algorithm:algorithm /opt/algorithm /input /output

ENV VIRTUAL_ENV=/opt/venv \
    PATH="/opt/venv/bin:${PATH}" \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# Dependencies first, in their own layer: a change to the code or the weights does not reinstall torch. A
# virtual environment owned by root: any user can run it (docker run --user too), none can change it.
COPY requirements.txt /opt/algorithm/
RUN python -m venv /opt/venv \
    && pip install --no-cache-dir -r /opt/algorithm/requirements.txt

USER 10001:10001
WORKDIR /opt/algorithm

# Weights change less often than the code. --chown makes them readable whatever their mode on the host.
COPY --chown=algorithm:algorithm weights/ /opt/algorithm/weights/
COPY --chown=algorithm:algorithm model/ /opt/algorithm/model/
COPY --chown=algorithm:algorithm process.py /opt/algorithm/
RUN python -m compileall -q /opt/algorithm/model /opt/algorithm/process.py

ENTRYPOINT ["python", "-m", "process"]
