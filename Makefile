# aifinops — the two commands a user needs: `make demo` and `make test`.
# Both go through `make install`, which creates .venv and installs everything, Java included.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= .demo
LAKE ?= $(DEMO_DIR)/lake

.PHONY: install java chromium demo test lint typecheck unit clean benchmark

install: $(STAMP) java chromium

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found; set PYTHON=python3.x (>= 3.11)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[spark,dev]'
	@touch $(STAMP)

# PySpark needs a Java runtime (17+); install Debian's when none is on the machine.
java:
	@command -v java >/dev/null 2>&1 || { \
	  echo "installing a Java runtime for the Spark engine (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq default-jre-headless >/dev/null; }

# The browser tests drive Debian's Chromium (Playwright, executable_path=/usr/bin/chromium).
chromium:
	@test -x /usr/bin/chromium || { \
	  echo "installing Chromium for the browser tests (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

demo: install
	$(BIN)/aifinops demo --out $(DEMO_DIR) --lake $(LAKE)

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install
	$(BIN)/mypy

# The tests run in parallel (pytest-xdist): one worker per CPU (at most 4), each module on one
# worker so that its fixtures are set up once; tests/conftest.py hands out the slowest first.
# TEST_WORKERS=0 runs them in this one process.
TEST_WORKERS ?= logical
unit: install
	$(BIN)/pytest -q -n $(TEST_WORKERS) --maxprocesses 4 --dist loadfile --no-loadscope-reorder

test: lint typecheck unit

benchmark: install
	$(BIN)/python benchmarks/ingest.py

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .mypy_cache .ruff_cache
