# repo: a non-root image that runs `repo serve` (or `repo worker`, `repo db upgrade`: see
# deploy/compose.yaml) with its data directory in a volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    REPO_DATA_DIR=/data PIP_NO_CACHE_DIR=1

# postgresql-client: pg_dump and pg_restore for `repo backup` and `repo restore`.
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin repo \
    && mkdir -p /data && chown repo:repo /data

WORKDIR /app
COPY pyproject.toml README.md ./
COPY src ./src
COPY migrations ./migrations
COPY schemas ./schemas
RUN pip install .

USER repo
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health')"
CMD ["repo", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
