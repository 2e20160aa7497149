# aarshjul: a slim, non-root image. The SQLite database lives on the /data volume;
# set DATABASE_URL=postgresql://… to use PostgreSQL instead.
#   docker build -t aarshjul .
#   docker run -d -p 3000:3000 -v aarshjul-data:/data \
#       -e SLACK_BOT_TOKEN -e SMTP_PASSWORD aarshjul          # run (the default command)
#   docker run --rm -v aarshjul-data:/data aarshjul cycle show --council lbr-gribskov

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY scheduler ./scheduler
COPY storage ./storage
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AARSHJUL_CONFIG=/etc/aarshjul/config.toml \
    DATABASE_URL=sqlite:////data/aarshjul.db \
    AARSHJUL__SERVER__HOST=0.0.0.0 \
    AARSHJUL__SERVER__PORT=3000 \
    AARSHJUL__EMAIL__FOLDER=/data/outbox-mail
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin aarshjul \
    && mkdir -p /data \
    && chown aarshjul /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
# Mount your own config over this file (secrets come from the environment, never from it).
COPY config.toml /etc/aarshjul/config.toml
VOLUME ["/data"]
WORKDIR /data
USER aarshjul
ENTRYPOINT ["aarshjul"]
EXPOSE 3000
# The check asks the port the bot listens on (AARSHJUL__SERVER__PORT: change it there,
# not with --port), and gives the start-up (migrations, Slack) a minute first.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD python -c "import os,sys,urllib.request; port = os.environ.get('AARSHJUL__SERVER__PORT', '3000'); sys.exit(urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4).status != 200)"
# run migrates the database and loads config.toml on start, then delivers reminders
# and serves /healthz and /metrics until stopped (SIGTERM finishes the batch in hand).
CMD ["run"]
