# Fresh Debian machine: `make run` serves on http://127.0.0.1:8080, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test unit lab-deps clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

run: $(STAMP)
	$(BIN)/migrator serve --host 127.0.0.1 --port 8080

lab-deps:
	bash tests/lab/install-deps.sh

test: $(STAMP) lab-deps
	$(BIN)/pytest -q

unit: $(STAMP)
	$(BIN)/pytest -q tests --ignore=tests/integration

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
