# The two commands of the README, and a few more. Everything runs from a local
# virtual environment (.venv) that `make setup` creates from pyproject.toml.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test bench evaluate clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

setup: $(VENV)/.installed

# Run the pipeline on the demo corpus in resources/papers -> results/
demo: setup
	$(BIN)/snakemake

# Run the whole test suite (unit tests, metafor comparisons, end-to-end runs)
test: setup
	$(BIN)/pytest

evaluate: setup
	$(BIN)/python tools/evaluate_extraction.py

# The benchmark table of the README (docs/benchmarks.md): about 15 minutes on 2 cores
bench: setup
	$(BIN)/python tools/benchmark.py

clean:
	rm -rf results/extracted results/tables results/figures results/pooled results/logs results/report.html .snakemake
