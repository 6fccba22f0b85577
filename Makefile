# The two commands of the quick start:  make demo   and   make test
# Both set up a local virtual environment (.venv) from pyproject.toml + constraints.txt first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt 2>/dev/null | sha1sum | cut -c1-12)
ARGS ?=

.PHONY: setup demo test test-spark bench services lint browser

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e ".[dev,bench]"
	rm -f $(VENV)/.installed-* && touch $@

## make demo [ARGS="--customers 100000 --no-serve"]: a synthetic company through the whole chain
demo: setup
	$(BIN)/prisme demo $(ARGS)

## make test: the whole suite on DuckDB (two workers), then the Spark CI set on Spark (two
## workers, one JVM each; a test file stays on one worker, so the demo company's DuckDB/Spark
## parity, ~7 min, is built once on one worker while the other runs the rest): the engine's
## own tests, the string similarities against DuckDB's, a SIGKILLed load, the warehouse's
## core and as-of tests, and the parity of the 2,000-customer demo company (same party_map
## partition, customer_360 and marts on both engines). Starts the local PostgreSQL / MariaDB
## if they are stopped. Every engine test on Spark: make test-spark.
SPARK_CI ?= tests/engine/test_parity.py tests/engine/test_engine.py tests/engine/test_similarity.py \
	tests/engine/test_killed_load.py tests/warehouse
test: setup services browser
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider -m "not spark" --durations=15
	$(BIN)/python -m pytest -n 2 --dist loadfile -p no:cacheprovider -m spark --durations=10 $(SPARK_CI)

## make test-spark: every engine test on the Spark backend (long on 2 cores)
test-spark: setup services
	$(BIN)/python -m pytest -n 2 --dist loadfile -p no:cacheprovider -m spark

services:
	bash scripts/services.sh

## Debian's Chromium for the browser tests and the PDF report, installed with apt-get when missing
browser:
	bash scripts/browser.sh

lint: setup
	$(BIN)/ruff check src tests bench
