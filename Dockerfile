# grand-challenge.org algorithm image: SynthRAD2023 and SynthRAD2025 Task 1, MR -> synthetic CT (a model folder per region).
#   ./build.sh   (or: docker build -t synthrad-sct .)             the image with the bundled weights/, run by the
#                             platform's invoke method: the label org.grand-challenge.api-method=invoke, and the
#                             command process.py --serve (every model loaded once, a case per POST /invoke)
#   ./build.sh --exec   (or: docker build --target exec ...)      the exec method: no command, one process a case
#   ./build.sh --no-weights [--exec]   (or: --target invoke-without-weights / exec-without-weights)   without the
#                             weights: the model comes as grand-challenge's model tarball (./export.sh --model),
#                             extracted to /opt/ml/model
# Built normally, pip takes torch's CUDA build from PyPI (the T4 needs it; torch 2.13.0 on PyPI is CUDA 13.0,
# which needs an NVIDIA driver >= 580). PIP_EXTRA_INDEX_URL picks another build, e.g. CUDA 12.6 from
# https://download.pytorch.org/whl/cu126 for an older driver. Where a folder of local wheels is named in
# PIP_FIND_LINKS (build.sh mounts it for Podman, serves it on localhost for Docker), pip takes a wheel from
# there: the CPU build on the CI machines. Nothing is downloaded when the image runs.
FROM python:3.11-slim AS runtime

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
ENTRYPOINT ["python", "-m", "process"]
# How grand-challenge runs the image: exec (the platform's default without the label) runs the entrypoint once a
# case; the invoke stages below set the label to invoke and the command to --serve.
LABEL org.grand-challenge.api-method=exec

# The code, by name: the runtime package (model/) and its entry point; the developer tools (tools/) never ship.
# --chown makes it readable whatever its mode on the host.
FROM runtime AS exec-without-weights
COPY --chown=algorithm:algorithm model/ /opt/algorithm/model/
COPY --chown=algorithm:algorithm process.py /opt/algorithm/
RUN python -m compileall -q /opt/algorithm/model /opt/algorithm/process.py

# The code and the bundled weights, used where no model tarball is uploaded.
FROM exec-without-weights AS exec
COPY --chown=algorithm:algorithm weights/ /opt/algorithm/weights/

# The invoke method: the platform starts the entrypoint and command once (process.py --serve, on 127.0.0.1:4743)
# and sends every case to it; the same image otherwise.
FROM exec-without-weights AS invoke-without-weights
LABEL org.grand-challenge.api-method=invoke
CMD ["--serve"]

# The default (last) stage: invoke, with the bundled weights.
FROM exec AS invoke
LABEL org.grand-challenge.api-method=invoke
CMD ["--serve"]
