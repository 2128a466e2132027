# The two commands of the README:
#   make demo  - set up .venv, regenerate generated/ from schemas/, and show the generated package working
#   make test  - set up .venv with the test tools, and run every check CI runs (the whole suite on 3.11, and
#                a subset of it on every other supported Python: `make versions`, noxfile.py)
# Everything installs into .venv from the package registry; nothing else is needed but python3 >= 3.10.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: demo test generate check lint typecheck pytest docs transcripts bench wheels clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Two distributions from this one repository: the client `runcomfy` (pyproject.toml; its sources are
# templates/runtime/ and the generated generated/runcomfy/) and the generator `runcomfy-codegen`
# (generator/pyproject.toml; generator/runcomfy_codegen/ with templates/ as package data).
$(VENV)/.codegen: pyproject.toml generator/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ./generator -e ".[testing]"
	touch $@

$(VENV)/.test: pyproject.toml generator/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ./generator -e ".[test]"
	touch $@ $(VENV)/.codegen

$(VENV)/.bench: pyproject.toml generator/pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e ./generator -e ".[bench]"
	touch $@ $(VENV)/.test $(VENV)/.codegen

demo: $(VENV)/.codegen
	$(BIN)/runcomfy-codegen generate
	$(BIN)/python -m runcomfy_codegen.demo

generate: $(VENV)/.codegen
	$(BIN)/runcomfy-codegen generate

check: $(VENV)/.codegen
	$(BIN)/runcomfy-codegen generate --check

lint: $(VENV)/.test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check generator templates/runtime tests benchmarks noxfile.py

typecheck: $(VENV)/.test
	cd generated && ../$(BIN)/mypy --strict --cache-dir ../.mypy_cache -p runcomfy

pytest: $(VENV)/.test
	$(BIN)/pytest

# The other supported Pythons (3.10, 3.12, 3.13; pyenv's are found without activating them): the subset of the
# suite that noxfile.py names, each version in its own .nox/ environment, the three at once. `make test` runs
# this beside the 3.11 suite (most of their time is spent waiting on the emulator, not computing); each one's
# output is printed whole when it ends.
.PHONY: versions
versions: $(VENV)/.test
	$(BIN)/nox --non-interactive --parallel 3 --sessions subset

# The documentation site, into site/ (its API reference is generated: docs/reference links to generated/reference).
docs: $(VENV)/.test
	$(BIN)/mkdocs build --strict --quiet --site-dir site

# Rerun every transcript of README.md and docs/*.md against the emulator and rewrite the stale ones in
# place (tests/test_docs_examples.py fails while one is stale).
transcripts: $(VENV)/.test
	$(BIN)/python tests/docs_examples.py --write

test: $(VENV)/.test
	$(BIN)/runcomfy-codegen generate --check
	$(MAKE) --no-print-directory lint typecheck docs
	$(MAKE) --no-print-directory --jobs 2 --output-sync=target pytest versions

bench: $(VENV)/.bench
	$(BIN)/python benchmarks/bench_validation.py
	$(BIN)/python benchmarks/bench_import.py
	$(BIN)/python benchmarks/bench_generate.py
	$(BIN)/python benchmarks/bench_client.py
	$(BIN)/python benchmarks/bench_cli.py
	$(BIN)/python benchmarks/bench_batch.py
	$(BIN)/python benchmarks/bench_regex.py
	$(BIN)/python benchmarks/plot.py

# Both wheels into dist/ (the install test in tests/test_install.py builds its own).
wheels: $(VENV)/.test
	rm -rf dist
	$(BIN)/python -m build --wheel --outdir dist .
	$(BIN)/python -m build --wheel --outdir dist generator

clean:
	rm -rf $(VENV) .nox .mypy_cache .ruff_cache .hypothesis dist site
