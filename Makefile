# checkout-engine: `make run` and `make test` work on a fresh machine (see README).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test lint typecheck pytest chromium bench chaos clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever the project metadata or the pinned constraints change.
$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[embedded,dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/checkout-engine run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# The browser tests (tests/e2e/browser) drive Debian's Chromium: Playwright cannot download
# its own browsers here. Installed once, only when missing; CHROMIUM may name another one.
CHROMIUM ?= /usr/bin/chromium
SUDO     := $(if $(filter 0,$(shell id -u)),,sudo)

chromium:
	@test -x $(CHROMIUM) || { \
		echo "installing chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	}

# A temp dir of our own: a shared /tmp/pytest-of-$USER can be pruned by other runs.
# Two pytest-xdist workers, each with its own embedded PostgreSQL and broker: the suite
# waits on its services far more than it computes (PYTEST_WORKERS=0 runs it in one process).
PYTEST_WORKERS ?= 2
pytest: $(STAMP) chromium
	rm -rf .pytest-tmp
	$(BIN)/python -m pytest --basetemp=.pytest-tmp -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python -m bench $(if $(QUICK),--quick,)

# The long fault-injection run (tests/chaos): the report goes to chaos/results/latest.json;
# then the API fuzzing with more examples than `make test` gives it.
SEED     ?= 1
CRASHES  ?= 1000
FUZZ_EXAMPLES ?= 200
chaos: $(STAMP)
	$(BIN)/python -m tests.chaos --seed $(SEED) --crashes $(CRASHES) $(CHAOS_ARGS)
	CHECKOUT_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest --basetemp=.pytest-tmp -q tests/e2e/test_fuzz_openapi.py

# Regenerate the pinned constraints from a clean resolve.
lock:
	rm -rf /tmp/ce-lock && $(PYTHON) -m venv /tmp/ce-lock
	/tmp/ce-lock/bin/pip install --quiet --upgrade pip
	/tmp/ce-lock/bin/pip install --quiet -e '.[embedded,dev]'
	/tmp/ce-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf $(VENV) .data .pytest_cache .mypy_cache .ruff_cache
