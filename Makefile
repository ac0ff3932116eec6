# Two commands matter: `make up` runs the platform, `make test` runs every check.
# Both need only Python 3.11+ and make; they create .venv and install into it.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PYTEST_WORKERS ?= 4

.PHONY: up test lint typecheck demo clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Tender needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.runtime-installed $@

up: $(VENV)/.runtime-installed
	$(BIN)/tender migrate
	$(BIN)/tender up

demo: $(VENV)/.runtime-installed
	$(BIN)/tender demo

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy cannot follow setuptools' mapped editable install, so it reads a tree of links that
# lays the three roots out as the one `tender` package they are at run time.
typecheck: $(VENV)/.dev-installed
	$(BIN)/python tools/package_tree.py .mypy-tree
	cd .mypy-tree && ../$(BIN)/mypy --config-file ../pyproject.toml -p tender

test: lint typecheck
	$(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile

clean:
	rm -rf $(VENV) .mypy-tree .pytest_cache .mypy_cache .ruff_cache
