# grand-challenge.org algorithm image (SynthRAD2023 Task 1: MR -> synthetic CT).
# Finished in the container issue (build/test scripts, CI run under Podman); this is the layout it builds on.
FROM python:3.11-slim

RUN groupadd -r algorithm && useradd -m --no-log-init -r -g algorithm algorithm \
    && mkdir -p /opt/algorithm /input /output \
    && chown algorithm:algorithm /opt/algorithm /input /output
USER algorithm
WORKDIR /opt/algorithm
ENV PATH="/home/algorithm/.local/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

# Dependencies first: a code change does not reinstall torch (the CUDA build from PyPI).
COPY --chown=algorithm:algorithm requirements.txt /opt/algorithm/
RUN python -m pip install --user --no-cache-dir -r requirements.txt

COPY --chown=algorithm:algorithm weights/ /opt/algorithm/weights/
COPY --chown=algorithm:algorithm model/ /opt/algorithm/model/
COPY --chown=algorithm:algorithm process.py /opt/algorithm/

ENTRYPOINT ["python", "-m", "process"]
