# Two commands do everything on a fresh machine: `make run` and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DB     ?= data/observatoire.duckdb
PORT   ?= 8501

.PHONY: install run test lint format bench demo clean

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

test: install
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
