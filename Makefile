# Two commands on a fresh machine (README quick start):
#   make report   set up .venv and run the main job (rdptheory report --out report/)
#   make test     set up .venv and run lint + the test suite
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
export TRITON_INTERPRET := 1
export OMP_NUM_THREADS := 1
export MKL_NUM_THREADS := 1
export OPENBLAS_NUM_THREADS := 1
export MPLBACKEND := Agg

.PHONY: setup report test test-slow lint bench clean

$(BIN)/rdptheory: pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# The local CPU torch wheel first, or pip resolves a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[all]'
	touch $(BIN)/rdptheory

setup: $(BIN)/rdptheory

report: setup
	$(BIN)/rdptheory report --out report --force

lint: setup
	$(BIN)/ruff check .
	$(BIN)/mypy

test: setup lint
	$(BIN)/python -m pytest -q

test-slow: setup
	$(BIN)/python -m pytest -q -m slow

bench: setup
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) report build *.egg-info
