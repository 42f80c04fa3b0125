# Two commands do all the set-up: `make book` and `make test`.
# Each creates .venv when it is missing and installs the pins of requirements.txt.
PYTHON  ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
PROFILE ?= default

.PHONY: book test bench clean system-packages

$(STAMP): requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

# Debian packages: Chromium for the browser tests, Fashion-MNIST for the offline data.
system-packages:
	@bash scripts/install-system-packages.sh

book: $(STAMP) system-packages
	$(BIN)/compendium book --profile $(PROFILE)

test: $(STAMP) system-packages
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python bench/measures.py

clean:
	rm -rf book/_build book/generated
