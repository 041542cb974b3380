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

.PHONY: setup report test test-slow lint lint-imports mutants docs bench clean

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
	$(MAKE) lint-imports

# import-linter contracts ([tool.importlinter] in pyproject.toml). kernels/, figures/ and
# proofs_check/ install as rdptheory.kernels/.figures/.proofs_check; the symlinks
# rdptheory/{kernels,figures,proofs_check} -> ../X give the source tree the same layout, so a
# bare `lint-imports` in the repository root sees every layer.
lint-imports: setup
	$(BIN)/lint-imports --no-cache

# Mutation testing of the decode paths ([tool.mutmut] in pyproject.toml; slow, on demand).
# MUTANTS narrows it to mutant-name globs, e.g. make mutants MUTANTS='rdptheory.rcc._index_coding*'
mutants: setup
	nice -n 10 $(BIN)/mutmut run --max-children 2 $(MUTANTS)
	$(BIN)/mutmut results

# API reference of the theory, rcc, diffusion and codec packages; warnings are errors.
docs: setup
	$(BIN)/python -m sphinx -b html -W --keep-going -q docs docs/_build/html

test: setup lint docs
	$(BIN)/python -m pytest -q

test-slow: setup
	$(BIN)/python -m pytest -q -m slow

bench: setup
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) report build *.egg-info
