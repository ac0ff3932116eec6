# Two commands matter: `make up` runs the platform, `make test` runs every check.
# Both need only Python 3.11+ and make; they create .venv and install into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_WORKERS ?= 4

.PHONY: up test test-fast lint typecheck demo clean FORCE

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Tender needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# The strict editable install links every source file into one `tender` package (signing/ and
# storage/ included), which mypy and import-linter read as it is at run time. It links files,
# not folders, so a module added or removed needs a reinstall: this list changes when one is.
$(VENV)/.sources: FORCE | $(BIN)/python
	@find src signing storage -type f \( -name '*.py' -o -name '*.yaml' -o -name '*.typed' -o -name '*.po' \
		-o -name '*.html' -o -name '*.css' -o -name '*.js' -o -name '*.svg' -o -name '*.woff2' \) \
		| sort > $@.new
	@cmp -s $@.new $@ && rm $@.new || mv $@.new $@

INSTALL = $(BIN)/pip install --quiet --config-settings editable_mode=strict

$(VENV)/.runtime-installed: pyproject.toml $(VENV)/.sources | $(BIN)/python
	$(INSTALL) -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml $(VENV)/.sources | $(BIN)/python
	$(INSTALL) -e '.[dev]'
	touch $(VENV)/.runtime-installed $@

up: $(VENV)/.runtime-installed
	$(BIN)/tender migrate
	$(BIN)/tender up

demo: $(VENV)/.runtime-installed
	$(BIN)/tender demo

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy -p tender -p tests -p bench

# The whole suite, as CI runs it.
test: lint typecheck
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

# The unit tests: no servers, no subprocesses; for the edit-test loop.
test-fast: $(VENV)/.dev-installed
	$(BIN)/pytest -n $(PYTEST_WORKERS) -m "not integration"

clean:
	rm -rf $(VENV) build .pytest_cache .mypy_cache .ruff_cache
