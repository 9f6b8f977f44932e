# Rasad: installs the package the same way as the README (constraints pin torch to 2.13.0), runs `rasad run`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --gid 10001 rasad && useradd --create-home --uid 10001 --gid 10001 rasad
WORKDIR /app

COPY pyproject.toml constraints.txt README.md ./
COPY bot/ bot/
RUN pip install -c constraints.txt .

COPY rules/ rules/
COPY sources/ sources/
COPY examples/ examples/
COPY config.yaml ./
RUN mkdir -p /data && chown 10001:10001 /data

USER 10001:10001
# The database lives in a volume; DATABASE_URL in the environment wins over config.yaml.
# HTTP_PORT turns on the health and metrics server (/healthz, /metrics) and webhook endpoints.
ENV DATABASE_URL=sqlite+aiosqlite:////data/rasad.db \
    HTTP_PORT=8080
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request, sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status == 200 else 1)"]

ENTRYPOINT ["rasad"]
EXPOSE 8080
CMD ["run", "--config", "/app/config.yaml"]
