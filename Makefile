# optiontracker: `make demo` runs everything offline against the built-in simulator,
# `make run` against live Bybit, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed
VENDOR := dashboard/static/dashboard/vendor

.PHONY: demo run test lint bench bench-tools clean static chromium measure-memory

$(STAMP): requirements/base.txt requirements/dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	touch $(STAMP)

# The dashboard's charting library comes from npm (package-lock.json) and is served
# from the project's own static files: the page works offline.
$(NPM_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund
	mkdir -p $(VENDOR)
	cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css $(VENDOR)/
	touch $(NPM_STAMP)

static: $(STAMP) $(NPM_STAMP)
	$(PY) manage.py collectstatic --noinput -v 0

# The browser tests drive the system's Chromium.
chromium:
	command -v chromium >/dev/null || test -x /usr/bin/chromium || \
		(apt-get update && apt-get install -y --no-install-recommends chromium)

demo: $(STAMP) $(NPM_STAMP)
	$(PY) -m devtools.launch demo

run: $(STAMP) $(NPM_STAMP)
	$(PY) -m devtools.launch live

test: static chromium
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# The benchmarks also load the API with wrk.
bench-tools: chromium
	command -v wrk >/dev/null || \
		(apt-get update && apt-get install -y --no-install-recommends wrk)

bench: static bench-tools
	$(PY) bench/feed_throughput.py
	$(PY) bench/resubscribe_bench.py
	$(PY) bench/dashboard_bench.py
	$(PY) bench/api_bench.py

# The three deployments' memory, each started from its compose file (README).
measure-memory: static chromium
	$(PY) bench/measure_memory.py

clean:
	rm -rf $(VENV) var staticfiles node_modules $(VENDOR)
