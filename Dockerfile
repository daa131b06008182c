# chatcrm: one image for every process (web, worker, scheduler, migrate); compose.yaml runs them.
#   docker build -t chatcrm .
#   docker run --rm -p 8000:8000 chatcrm serve            (SQLite in the container, for a look)
# Dependencies come from requirements.lock (exact versions with hashes), then the app without
# resolving anything again; the runtime stage has no compiler, no pip cache and no root user.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/chatcrm
COPY requirements.lock /src/requirements.lock
RUN /opt/chatcrm/bin/pip install --require-hashes -r /src/requirements.lock
COPY pyproject.toml README.md alembic.ini /src/
COPY bot /src/bot
COPY handlers /src/handlers
COPY crm_core /src/crm_core
COPY cards /src/cards
COPY scheduler /src/scheduler
RUN /opt/chatcrm/bin/pip install --no-deps /src

FROM python:3.11-slim
ENV PATH=/opt/chatcrm/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PORT=8000
# A CJK font for the PDF quotes and chart pictures (docs/documents.md).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-wqy-microhei \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 chatcrm \
    && useradd --system --uid 10001 --gid chatcrm --home-dir /app --create-home chatcrm
COPY --from=build /opt/chatcrm /opt/chatcrm
COPY --chown=chatcrm:chatcrm alembic.ini /app/alembic.ini
WORKDIR /app
USER chatcrm
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '8000'), timeout=2)"]
ENTRYPOINT ["chatcrm"]
CMD ["serve"]
