# dlrhub: one image for the api, worker, beat and migrate services of docker-compose.yml.
# Pinned by version, and one image for both stages: the runtime stage runs the virtualenv
# the builder made, whose python is a link to this image's.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

# --- builder: the locked dependencies, then dlrhub's own wheel, into /opt/dlrhub ---------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1

# The lock alone, before any source: these layers are rebuilt only when it changes.
COPY requirements/runtime.txt requirements/build.txt /tmp/requirements/
RUN python -m venv /opt/dlrhub \
    && /opt/dlrhub/bin/pip install --require-hashes -r /tmp/requirements/runtime.txt \
    && python -m pip install --require-hashes -r /tmp/requirements/build.txt

# dlrhub/ links to the top-level folders, so they come along; tests and bench do not.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY dlrhub ./dlrhub
COPY api ./api
COPY cli ./cli
COPY config ./config
COPY console ./console
COPY core ./core
COPY models ./models
COPY providers ./providers
COPY services ./services
COPY tasks ./tasks
# The wheel, built with the locked setuptools, adds dlrhub and nothing else (--no-deps).
RUN python -m pip wheel --no-deps --no-build-isolation --wheel-dir /tmp/wheels . \
    && /opt/dlrhub/bin/pip install --no-deps /tmp/wheels/dlrhub-*.whl

# --- runtime: the installed virtualenv only, no source tree, not root ------------------
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/dlrhub/bin:$PATH \
    DLRHUB_DATA_DIR=/var/lib/dlrhub PROMETHEUS_MULTIPROC_DIR=/tmp/dlrhub-metrics

RUN useradd --system --uid 10001 --no-create-home dlrhub \
    && mkdir -p /var/lib/dlrhub /tmp/dlrhub-metrics \
    && chown dlrhub /var/lib/dlrhub /tmp/dlrhub-metrics
# Owned by root: the service can run its code but not change it.
COPY --from=builder /opt/dlrhub /opt/dlrhub
USER dlrhub
WORKDIR /var/lib/dlrhub

EXPOSE 8000 9100
CMD ["dlrhub", "api", "--host", "0.0.0.0", "--port", "8000"]
