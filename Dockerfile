# dlrhub: one image for the api, worker, beat and migrate services of docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    DLRHUB_DATA_DIR=/var/lib/dlrhub PROMETHEUS_MULTIPROC_DIR=/tmp/dlrhub-metrics

WORKDIR /app
COPY pyproject.toml README.md ./
COPY dlrhub ./dlrhub
COPY api ./api
COPY cli ./cli
COPY config ./config
COPY models ./models
COPY providers ./providers
COPY services ./services
COPY tasks ./tasks
RUN pip install . && useradd --system --uid 10001 dlrhub \
    && mkdir -p /var/lib/dlrhub /tmp/dlrhub-metrics \
    && chown dlrhub /var/lib/dlrhub /tmp/dlrhub-metrics
USER dlrhub

EXPOSE 8000
CMD ["dlrhub", "api", "--host", "0.0.0.0", "--port", "8000"]
