# One image for every process of the tracker; the compose files pick the command
# (docker-compose.yml, docker-compose.minimal.yml, docker-compose.ultra.yml).
# .dockerignore leaves out what only development uses (simulator, devtools, tests,
# bench) and requirements/base.txt holds the runtime dependencies alone.
FROM node:20-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
COPY requirements/base.txt requirements/postgres.txt requirements/
RUN pip install -r requirements/base.txt -r requirements/postgres.txt
COPY . .
COPY --from=assets /src/node_modules/uplot/dist/uPlot.iife.min.js \
     /src/node_modules/uplot/dist/uPlot.min.css /app/dashboard/static/dashboard/vendor/
# Static files for the web; bytecode now, so no process compiles (or needs to write)
# at start.
RUN DJANGO_SECRET_KEY=build python manage.py collectstatic --noinput -v 0 \
    && python -m compileall -q /app
# A non-root user; /data holds the SQLite database (full deployment).
RUN useradd --create-home --uid 10001 tracker && mkdir -p /data && chown tracker /data
USER tracker
EXPOSE 8000
# The compose files always give the command; alone, the image runs the feed.
CMD ["python", "-m", "feed"]
