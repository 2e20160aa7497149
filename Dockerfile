# aarshjul: a slim, non-root image. The SQLite database lives on the /data volume;
# set DATABASE_URL=postgresql://… to use PostgreSQL instead.
#   docker build -t aarshjul .
#   docker run --rm -v aarshjul-data:/data aarshjul            # init (the default command)
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
    DATABASE_URL=sqlite:////data/aarshjul.db
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
# Becomes ["run"] once the reminder worker exists; until then the container prepares
# (or upgrades) the database and exits.
CMD ["init"]
