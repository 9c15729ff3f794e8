# Two commands for a newcomer: `make demo` and `make test`. Each sets up .venv on first use.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
DEMO_DIR := demo-output
DEMO_PATIENTS ?= 5000

.PHONY: demo test install lint format docs bench clean lock update audit

# Every dependency exactly as the committed lock pins it (`make lock` writes it): pip checks
# each file against the lock's hashes and refuses one that differs, and installs nothing the
# lock does not name (--no-deps); then fivesafes itself, editable, with no resolving of its own.
$(BIN)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	$(BIN)/pip check
	touch $@

# The portal's design system (nhsuk-frontend, src/fivesafes/web/assets.py): the server refuses to
# start without it. And axe-core, which the portal's browser tests inject into every page.
ASSETS := src/fivesafes/web/assets
AXE := tests/web/axe
$(ASSETS)/node_modules/.installed: $(ASSETS)/package-lock.json
	npm ci --prefix $(ASSETS) --no-audit --no-fund --silent
	touch $@
$(AXE)/node_modules/.installed: $(AXE)/package-lock.json
	npm ci --prefix $(AXE) --no-audit --no-fund --silent
	touch $@

install: $(BIN)/.installed $(ASSETS)/node_modules/.installed

# The OpenID Connect provider the sign-in test runs on loopback (tests/operate/test_oidc.py).
OIDC := tests/operate/oidc
$(OIDC)/node_modules/.installed: $(OIDC)/package-lock.json
	npm ci --prefix $(OIDC) --no-audit --no-fund --silent
	touch $@

demo: install
	BIN=$(BIN) DEMO_DIR=$(DEMO_DIR) DEMO_PATIENTS=$(DEMO_PATIENTS) bash tools/demo.sh

# The suite runs on three workers (pytest-xdist): much of it waits on servers, browsers, JVMs and
# sandboxed jobs, so a third worker fills two cores' waits. Files sharing a world stay on one
# worker (tests/worker_groups.py). No worker sees the others' outcomes, so the SATRE evidence
# check runs after the rest, on the run's JUnit report (tests/operate/satre_evidence.py).
PARALLEL ?= -n 3 --dist loadgroup
EVIDENCE := tests/operate/test_satre_assessment.py::test_every_satisfied_requirement_s_tests_exist_and_pass
test: install $(OIDC)/node_modules/.installed $(AXE)/node_modules/.installed
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/mypy
	$(BIN)/python tools/gen_docs.py --check
	$(BIN)/python tools/gen_satre.py --check
	$(BIN)/python tools/audit_lock.py requirements.lock
	FIVESAFES_SPARK_TESTS=1 $(BIN)/pytest -q $(PARALLEL) --durations=15 --cov --cov-report=term \
		--junitxml=test-artefacts/run.xml --deselect $(EVIDENCE)
	FIVESAFES_EVIDENCE_REPORT=test-artefacts/run.xml $(BIN)/pytest -q $(EVIDENCE)

# The hashed lock file (docs/running-an-environment.md, "Security updates"). `make lock` writes
# it again from pyproject.toml keeping every pin it can (after a dependency is added or its
# bounds change); `make update` moves every pin to its newest release: monthly, and at once
# when the audit names a vulnerability.
LOCK_FLAGS ?=
lock: install
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --generate-hashes --strip-extras --no-emit-index-url $(LOCK_FLAGS) \
		--no-emit-find-links --unsafe-package fivesafes --extra test -o requirements.lock pyproject.toml

update:
	$(MAKE) lock LOCK_FLAGS=--upgrade

audit: install
	$(BIN)/python tools/audit_lock.py requirements.lock

lint: install
	$(BIN)/ruff check src tests bench tools

format: install
	$(BIN)/ruff format src tests bench tools

docs: install
	$(BIN)/python tools/gen_docs.py

bench: install
	$(BIN)/pip install --quiet -e '.[test,bench]'
	for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b; done

clean:
	rm -rf $(VENV) $(DEMO_DIR) fivesafes-data .pytest_cache .ruff_cache .hypothesis test-artefacts
