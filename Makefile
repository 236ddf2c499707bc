# The two commands a newcomer needs: `make run` and `make test`.
# Azure Functions runs Python 3.13 apps through azure-functions-runtime (requirements.txt), which
# needs 3.13, so the venv is made with it: PYTHON=/path/to/python3.13 when given, else python3.13
# on PATH, else pyenv's 3.13 (whichever version pyenv's global is).
PYTHON_VERSION := 3.13
IS_PYTHON_VERSION := import sys; sys.exit("%d.%d" % sys.version_info[:2] != "$(PYTHON_VERSION)")
PYTHON ?= $(shell for candidate in python$(PYTHON_VERSION) \
	"$$(pyenv prefix $(PYTHON_VERSION) 2>/dev/null)/bin/python$(PYTHON_VERSION)" \
	$(HOME)/.pyenv/versions/$(PYTHON_VERSION)*/bin/python$(PYTHON_VERSION); do \
	"$$candidate" -c '$(IS_PYTHON_VERSION)' 2>/dev/null && { echo "$$candidate"; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
# Named for the Python version: a venv made with another one has no such stamp, and is remade.
STAMP := $(VENV)/.installed-$(PYTHON_VERSION)
PORT ?= 7071
# The Cosmos DB protocol server the Cosmos store is tested against (npm, project-local).
COSMOS_SERVER := tools/cosmos-server
COSMOS_STAMP := $(COSMOS_SERVER)/node_modules/.installed
# Debian's Chromium for the agent console's browser test (Playwright drives it; never a
# downloaded browser). Installed only when missing; sudo only when not root.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test lint typecheck unit soak clean bench bench-cost bench-routing bench-search screenshots

$(STAMP): requirements.txt requirements-dev.txt
	@$(BIN)/python -c '$(IS_PYTHON_VERSION)' 2>/dev/null || { \
		test -n "$(PYTHON)" || { echo "Python $(PYTHON_VERSION) is needed and was not found:" \
			"install your distribution's python$(PYTHON_VERSION) and python$(PYTHON_VERSION)-venv" \
			"(or 'pyenv install $(PYTHON_VERSION)'), or name it: make PYTHON=/path/to/python$(PYTHON_VERSION)" >&2; \
			exit 1; }; \
		echo "Making $(VENV) with $(PYTHON)"; rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(STAMP)

$(COSMOS_STAMP): $(COSMOS_SERVER)/package.json $(COSMOS_SERVER)/package-lock.json
	cd $(COSMOS_SERVER) && npm ci --no-audit --no-fund --loglevel=error
	touch $(COSMOS_STAMP)

$(CHROMIUM):
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

local.settings.json:
	cp local.settings.sample.json local.settings.json

run: $(STAMP) local.settings.json
	$(BIN)/python -m devserver --port $(PORT) --data-dir .data --seed-demo

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# pytest with the Cosmos server up on a free loopback port, stopped afterwards whatever
# the outcome; with it running, the Cosmos tests fail instead of skipping. Two workers
# (pytest-xdist) share it, each test on its own database: most e2e tests wait on a runtime,
# so two run in about the time of one (TEST_WORKERS=0 runs them in this process).
TEST_WORKERS ?= 2
unit: $(STAMP) $(COSMOS_STAMP) $(CHROMIUM)
	$(BIN)/python $(COSMOS_SERVER)/with_server.py -- $(BIN)/pytest -q -n $(TEST_WORKERS)

test: lint typecheck unit

# The reliability suite pushed harder (README, Tests): SOAK_FACTOR times the generated examples
# (hypothesis, schemathesis) and the SIGKILL crash test run SOAK_FACTOR times.
SOAK_FACTOR ?= 20
soak: $(STAMP)
	SOAK_FACTOR=$(SOAK_FACTOR) $(BIN)/pytest -q tests/reliability

# Request units, queue messages and executions per flow on the Cosmos store (docs/cost.md).
bench-cost: $(STAMP) $(COSMOS_STAMP)
	$(BIN)/python $(COSMOS_SERVER)/with_server.py -- $(BIN)/python -m bench.cost

# Refresh docs/*.png from the browser tests (a plain test run leaves docs/ alone).
screenshots: $(STAMP) $(COSMOS_STAMP)
	UPDATE_SCREENSHOTS=1 $(BIN)/pytest -q tests/e2e/test_agent_console.py \
		tests/e2e/test_chat_widget_browser.py tests/e2e/test_supervisor_page.py

# Routing decisions per second and their latency at 1,000 and 10,000 agents (SQLite).
bench-routing: $(STAMP)
	$(BIN)/python -m bench.routing

# Conversation search at 1,000,000 messages (SQLite FTS5 and the search projection): p50/p99
# per kind of search, against a primary-key read and a LIKE scan measured in the same run.
bench-search: $(STAMP)
	$(BIN)/python -m bench.search

# Every benchmark, each printing its figures and its baseline, then the figures and the machine
# into README.md's Performance section (between its bench:start/bench:end markers).
BENCH_OUT := .data/bench
bench: $(STAMP) $(COSMOS_STAMP)
	mkdir -p $(BENCH_OUT)
	$(BIN)/python -m bench.ingest > $(BENCH_OUT)/ingest.txt && cat $(BENCH_OUT)/ingest.txt
	$(BIN)/python -m bench.end_to_end > $(BENCH_OUT)/end_to_end.txt && cat $(BENCH_OUT)/end_to_end.txt
	$(BIN)/python -m bench.memory > $(BENCH_OUT)/memory.txt && cat $(BENCH_OUT)/memory.txt
	$(BIN)/python -m bench.routing > $(BENCH_OUT)/routing.txt && cat $(BENCH_OUT)/routing.txt
	$(BIN)/python -m bench.search > $(BENCH_OUT)/search.txt && cat $(BENCH_OUT)/search.txt
	$(BIN)/python $(COSMOS_SERVER)/with_server.py -- $(BIN)/python -m bench.cost \
		> $(BENCH_OUT)/cost.txt && cat $(BENCH_OUT)/cost.txt
	$(BIN)/python -m bench.readme $(BENCH_OUT)

clean:
	rm -rf $(VENV) .data .mypy_cache .ruff_cache .pytest_cache $(COSMOS_SERVER)/node_modules
