# The two commands of the quick start:  make demo   and   make test
# Both set up a local virtual environment (.venv) from pyproject.toml + constraints.txt first.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt 2>/dev/null | sha1sum | cut -c1-12)
ARGS ?=

.PHONY: setup demo test bench services lint browser

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c constraints.txt -e ".[dev,bench]"
	rm -f $(VENV)/.installed-* && touch $@

## make demo [ARGS="--customers 100000 --no-serve"]: a synthetic company through the whole chain
demo: setup
	$(BIN)/prisme demo $(ARGS)

## make test: the whole suite (starts the local PostgreSQL / MariaDB if they are stopped)
test: setup services browser
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider

services:
	bash scripts/services.sh

## Debian's Chromium for the browser tests and the PDF report, installed with apt-get when missing
browser:
	bash scripts/browser.sh

lint: setup
	$(BIN)/ruff check src tests bench
