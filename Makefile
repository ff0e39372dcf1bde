# optiontracker: `make demo` runs everything offline against the built-in simulator,
# `make run` against live Bybit, `make test` runs every test.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo run test lint bench clean

$(STAMP): requirements/base.txt requirements/dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/dev.txt
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m tracker_project.launch demo

run: $(STAMP)
	$(PY) -m tracker_project.launch live

test: $(STAMP)
	$(PY) -m pytest

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

bench: $(STAMP)
	$(PY) bench/feed_throughput.py

clean:
	rm -rf $(VENV) var staticfiles
