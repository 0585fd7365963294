# Fresh Debian machine: `make run` serves on http://127.0.0.1:8080, `make test` runs every test.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test unit lab-deps lab-up lab-down demo clean

$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	$(BIN)/pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $@

run: $(STAMP)
	$(BIN)/migrator serve --host 127.0.0.1 --port 8080

lab-deps:
	bash tests/lab/install-deps.sh

# Every test on SQLite, then again on PostgreSQL (127.0.0.1:5432, database `test`, trust auth).
test: $(STAMP) lab-deps
	$(BIN)/pytest -q
	MIGRATOR_TEST_DB=postgresql $(BIN)/pytest -q

# The nine-VM lab estate (root): up, then scanned, scored against its truth file and planned.
DEMO := /tmp/migrator-demo
lab-up: lab-deps
	python3 -m tests.lab up --estate --workdir $(DEMO)/lab >/dev/null
	@echo "estate up: inventory $(DEMO)/lab/inventory.json, truth $(DEMO)/lab/truth.json"

lab-down:
	python3 -m tests.lab down --workdir $(DEMO)/lab

demo: $(STAMP) lab-up
	rm -f $(DEMO)/demo.db; mkdir -p $(DEMO)/plan
	MIGRATOR_DATABASE_URL=sqlite:///$(DEMO)/demo.db $(BIN)/migrator hosts import $(DEMO)/lab/inventory.json
	MIGRATOR_DATABASE_URL=sqlite:///$(DEMO)/demo.db $(BIN)/migrator scan
	MIGRATOR_DATABASE_URL=sqlite:///$(DEMO)/demo.db $(BIN)/migrator score $(DEMO)/lab/truth.json
	MIGRATOR_DATABASE_URL=sqlite:///$(DEMO)/demo.db $(BIN)/migrator plan export --namespace demo \
	  -o $(DEMO)/plan/plan.yaml --kustomize $(DEMO)/plan/kustomize
	@echo "plan in $(DEMO)/plan; the estate stays up: make lab-down"

unit: $(STAMP)
	$(BIN)/pytest -q tests --ignore=tests/integration

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
