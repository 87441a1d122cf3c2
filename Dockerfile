# syntax=docker/dockerfile:1
# Needs BuildKit (the default builder since Docker 23) for RUN --mount.
# laba (大喇叭) in a container: the daemon by default, any other command as arguments.
#
#   docker build -t laba .
#   docker run -d --name laba -v laba-data:/data laba                      # laba run
#   docker run --rm -v laba-data:/data laba simulate --from 2024-05-01 --to 2024-05-31
#   docker run --rm laba check
#   docker run -d -v laba-data:/data -e BOT_DATABASE_URL=postgresql://user:pw@db:5432/laba laba
#
# The town's files are baked in at /app/schedules/jinxi and /app/messages (the CLI's defaults, relative to WORKDIR).
# To run another town or edit live, mount a folder over them, e.g. -v "$PWD/schedules:/app/schedules:ro".

ARG PYTHON_IMAGE=python:3.11-slim

# --- builder: the project's wheel, and wheels of everything it depends on ------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /src
# Only what the build reads (pyproject names README.md as the readme): code edits elsewhere don't bust the cache.
COPY pyproject.toml README.md ./
COPY bot ./bot
RUN pip wheel --wheel-dir /wheels .
# The store migrates itself at start, so a wheel without the Alembic migrations would only fail at runtime.
RUN python -m zipfile -l /wheels/laba-*.whl > /tmp/laba-wheel.txt \
    && grep -q 'bot/store/migrations/env\.py' /tmp/laba-wheel.txt \
    && grep -q 'bot/store/migrations/script\.py\.mako' /tmp/laba-wheel.txt \
    && grep -q 'bot/store/migrations/versions/.*\.py' /tmp/laba-wheel.txt \
    || { echo "the laba wheel lacks bot/store/migrations (see [tool.setuptools.package-data])" >&2; exit 1; }
# Likewise the Wechaty CA (TLS to the gateway) and the sandbox page.
RUN grep -q 'bot/channels/wechaty/certs/wechaty-ca\.pem' /tmp/laba-wheel.txt \
    && grep -q 'bot/sandbox\.html' /tmp/laba-wheel.txt \
    || { echo "the laba wheel lacks the Wechaty CA or the sandbox page (see [tool.setuptools.package-data])" >&2; exit 1; }

# --- runtime ---------------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

# BOT_CACHE_DIR: the home folder is read-only here; compiled templates kept on the volume survive a restart.
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    BOT_DATA_DIR=/data \
    BOT_CACHE_DIR=/data/cache

# The zone database: zoneinfo (Asia/Shanghai, whatever TZ the container has) and the log timestamps if TZ is set.
# espeak-ng: the offline voice of the loudspeaker clips when edge-tts fails (ffmpeg comes in the imageio-ffmpeg wheel).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tzdata espeak-ng \
    && rm -rf /var/lib/apt/lists/*

# Installed offline from the builder's wheels; the wheels themselves never become a layer.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-index --find-links=/wheels laba \
    && python -c "import zoneinfo; zoneinfo.ZoneInfo('Asia/Shanghai')" \
    && laba --help >/dev/null

RUN groupadd --system --gid 10001 laba \
    && useradd --system --uid 10001 --gid laba --home-dir /app --no-create-home --shell /usr/sbin/nologin laba \
    && mkdir -p /app/audio_out /data \
    && chown laba:laba /app/audio_out /data

WORKDIR /app
# Read-only for the daemon (owned by root); it only reads them and reloads on change.
COPY schedules/ ./schedules/
COPY messages/ ./messages/

USER laba
# Created (and owned by laba) above, so a fresh named volume starts writable by the daemon.
VOLUME ["/data", "/app/audio_out"]

# The web console: listens on 127.0.0.1:8080 by default; in a container set BOT_WEB_LISTEN=0.0.0.0:8080 and publish
# the port only to the HTTPS reverse proxy (docs/网页控制台.md).
EXPOSE 8080
# `laba run` stops cleanly on SIGTERM (docker stop).
ENTRYPOINT ["laba"]
CMD ["run"]
