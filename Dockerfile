# One image for every process of the tracker; the compose files pick the command.
# .dockerignore leaves out what only development uses (simulator, devtools, tests,
# bench) and requirements/base.txt holds the runtime dependencies alone.
FROM node:20-slim AS assets
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements/base.txt requirements/base.txt
RUN pip install --no-cache-dir -r requirements/base.txt
COPY . .
COPY --from=assets /src/node_modules/uplot/dist/uPlot.iife.min.js \
     /src/node_modules/uplot/dist/uPlot.min.css /app/dashboard/static/dashboard/vendor/
RUN DJANGO_SECRET_KEY=build python manage.py collectstatic --noinput -v 0
RUN useradd --create-home tracker && mkdir -p /data && chown tracker /data
USER tracker
