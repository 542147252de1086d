# Two commands do everything on a fresh machine: `make run` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DB     ?= data/observatoire.duckdb
PORT   ?= 8501

.PHONY: install test-tools run test lint format bench demo clean

# (Re)install when pyproject.toml changes; the venv is created when missing.
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The default database: demo submissions written as member files and loaded through the real ETL.
$(DB): | $(STAMP)
	OBSERVATOIRE_DB=$(DB) $(BIN)/observatoire demo

demo: install
	OBSERVATOIRE_DB=$(DB) $(BIN)/observatoire demo

run: install $(DB)
	OBSERVATOIRE_DB=$(DB) $(BIN)/streamlit run dashboard/app.py --server.port $(PORT)

# The system programs the tests drive (chromium, nginx, envsubst, systemd-analyze), installed with
# apt-get when missing and allowed; otherwise a message says what to install. `make run` needs none.
test-tools: install
	bash scripts/test-tools.sh $(BIN)

test: install test-tools
	$(BIN)/pytest

lint: install
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install
	$(PY) -m bench

clean:
	rm -rf $(VENV) .pytest_cache
