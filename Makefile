# Two commands matter:  make demo  (run it)  and  make test  (test it).
# Everything they need is installed here, into .venv, tests/grafana/<line>/node_modules,
# tests/alerting/node_modules and tests/deploy/toolkit/node_modules:
# the demo installs only what running needs; test and lint add their tool chains.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
RUN_STAMP  := $(VENV)/.installed-run
DEV_STAMP  := $(VENV)/.installed-dev
# Grafana's own frontend packages, one folder per Grafana line the tests run against.
GRAFANA_LINES := 12.4 13.2
NODE_STAMPS := $(foreach line,$(GRAFANA_LINES),tests/grafana/$(line)/node_modules/.installed)
TOOLKIT_STAMP := tests/deploy/toolkit/node_modules/.installed
ALERT_NODE_STAMP := tests/alerting/node_modules/.installed

.PHONY: demo serve seed layer validators test test-slow lint mariadb install clean

install: $(DEV_STAMP)

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Running: the engine, the dev tools and the Cloud Monitor SDK (about 15 packages).
$(RUN_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install --quiet -e '.[cloudmonitor]'
	touch $@

# Testing and linting: everything above plus pytest, Hypothesis, Schemathesis, ruff, mypy.
$(DEV_STAMP): pyproject.toml $(RUN_STAMP)
	$(BIN)/pip install --quiet -e '.[cloudmonitor,test,lint]'
	touch $@

tests/grafana/%/node_modules/.installed: tests/grafana/%/package.json tests/grafana/%/package-lock.json
	npm ci --prefix tests/grafana/$* --no-audit --no-fund --loglevel=error
	touch $@

# The npm jsonata package: evaluates the alert rules' root selectors (tests/alerting).
$(ALERT_NODE_STAMP): tests/alerting/package.json tests/alerting/package-lock.json
	npm ci --prefix tests/alerting --no-audit --no-fund --loglevel=error
	touch $@

# tencent-component-toolkit, what the deploy's components call (tests/deploy/test_toolkit_deploy.py).
$(TOOLKIT_STAMP): tests/deploy/toolkit/package.json tests/deploy/toolkit/package-lock.json
	npm ci --prefix tests/deploy/toolkit --no-audit --no-fund --loglevel=error
	touch $@

mariadb:
	scripts/ensure-mariadb

seed: $(RUN_STAMP) mariadb
	$(BIN)/labelhub seed

serve: $(RUN_STAMP)
	$(BIN)/labelhub serve

## layer: the SCF layer folder and zip under layer/build (docs/deploy.md)
layer: $(RUN_STAMP)
	$(BIN)/labelhub build-layer

## validators: regenerate layer/grafana_scf/validators/ after changing a schema
validators: $(RUN_STAMP)
	$(BIN)/python -m labelhub_tools.validators

## demo: local MariaDB with demo data, then every function on http://127.0.0.1:9000/<function>/
## (sharing their cache in the machine's Redis when one answers on 127.0.0.1:6379)
demo: seed
	$(BIN)/labelhub serve --redis auto

## test: the default suite (under 10 minutes; it prints its 15 slowest tests); test-slow adds
## the long fuzz/soak modes
test: $(DEV_STAMP) $(NODE_STAMPS) $(ALERT_NODE_STAMP) $(TOOLKIT_STAMP) mariadb
	$(BIN)/pytest -q --durations=15

test-slow: $(DEV_STAMP) $(NODE_STAMPS) $(ALERT_NODE_STAMP) $(TOOLKIT_STAMP) mariadb
	$(BIN)/pytest -q --slow

lint: $(DEV_STAMP)
	$(BIN)/ruff check layer tools tests bench
	$(BIN)/ruff format --check layer tools tests bench
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(foreach line,$(GRAFANA_LINES),tests/grafana/$(line)/node_modules) tests/alerting/node_modules tests/deploy/toolkit/node_modules build layer/build
