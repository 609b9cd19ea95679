# Two commands matter:  make demo  (run it)  and  make test  (test it).
# Everything they need is installed here, into .venv and tests/grafana/node_modules.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
NODE_STAMP := tests/grafana/node_modules/.installed

.PHONY: demo serve seed layer test test-slow lint mariadb install clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

$(NODE_STAMP): tests/grafana/package.json tests/grafana/package-lock.json
	npm ci --prefix tests/grafana --omit=peer --no-audit --no-fund --loglevel=error
	touch $@

mariadb:
	scripts/ensure-mariadb

seed: $(STAMP) mariadb
	$(BIN)/python -m grafana_scf seed

serve: $(STAMP)
	$(BIN)/python -m grafana_scf serve

## layer: the SCF layer folder and zip under layer/build (docs/deploy.md)
layer: $(STAMP)
	$(BIN)/python -m grafana_scf build-layer

## demo: local MariaDB with demo data, then every function on http://127.0.0.1:9000/<function>/
demo: seed serve

## test: the default suite (a few minutes); test-slow adds the long fuzz/soak modes
test: $(STAMP) $(NODE_STAMP) mariadb
	$(BIN)/pytest -q

test-slow: $(STAMP) $(NODE_STAMP) mariadb
	$(BIN)/pytest -q --slow

lint: $(STAMP)
	$(BIN)/ruff check layer tests $(wildcard bench)
	$(BIN)/ruff format --check layer tests $(wildcard bench)

clean:
	rm -rf $(VENV) tests/grafana/node_modules build layer/build
