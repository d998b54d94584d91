# Generalizing Gradient Descent: `make help` lists the targets.

SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
# nbgrader runs `alembic` by name when it creates the gradebook: the venv must be on PATH
export PATH := $(BIN):$(PATH)
export MPLBACKEND := Agg

PORT ?= 8888
LAB_ARGS ?=
# Jupyter refuses to run as root (containers, CI) unless told it is meant
ROOT_ARGS := $(if $(filter 0,$(shell id -u)),--allow-root)
WORKSPACE ?= workspace
A ?=
CHAPTERS := $(notdir $(wildcard solutions/ch*))
ASSIGNMENTS := $(if $(A),$(A),$(CHAPTERS))
PYTEST_ARGS ?= -v
# grading limits: empty means the defaults in grading/settings.py
CELL_TIMEOUT ?=
SUBMISSION_CAP ?=

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z.-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'
	@echo "  variables: PORT=$(PORT) LAB_ARGS=... A=<chapter> VENV=$(VENV)"
	@echo "  grading:   CELL_TIMEOUT=<s> SUBMISSION_CAP=<s> (defaults in grading/settings.py) UNSAFE_NO_SANDBOX=1 (trusted submissions only)"

# The lock: requirements.in (the direct dependencies) -> requirements.txt (every package, hashed),
# made by uv in a venv of its own (.venv-lock), never in the course's. A test checks the header.
UV_VERSION := 0.13.9
LOCK_VENV ?= .venv-lock
LOCK_ARGS := --universal --python-version 3.11 --generate-hashes
# `make lock LOCK_UPGRADE=--upgrade` re-resolves every package; without it, the lock's pins are kept
LOCK_UPGRADE ?=
# the benchmarks' CPU build of torch is not on PyPI: uv looks where pip does (PIP_FIND_LINKS)
BENCH_FIND_LINKS := $(foreach f,$(PIP_FIND_LINKS),--find-links $(f))
BENCH_VENV ?= .venv-bench
BENCH_BIN := $(abspath $(BENCH_VENV))/bin
PIP_INSTALL := -m pip install --quiet --disable-pip-version-check

# --require-hashes: every package must be in the lock with a hash; gdlib is built by the locked setuptools
$(BIN)/.installed: requirements.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python $(PIP_INSTALL) --require-hashes -r requirements.txt
	$(BIN)/python $(PIP_INSTALL) --no-deps --no-build-isolation -e .
	@touch $@

.PHONY: lock
lock: ## maintainers: resolve requirements.in (and benchmarks/) into the hashed locks, then environment.yml
	@test -e $(LOCK_VENV)/.uv-$(UV_VERSION) || { rm -rf $(LOCK_VENV) && $(PYTHON) -m venv $(LOCK_VENV) \
	  && $(LOCK_VENV)/bin/python $(PIP_INSTALL) uv==$(UV_VERSION) && touch $(LOCK_VENV)/.uv-$(UV_VERSION); }
	$(LOCK_VENV)/bin/uv pip compile --quiet $(LOCK_ARGS) $(LOCK_UPGRADE) requirements.in -o requirements.txt
	$(LOCK_VENV)/bin/uv pip compile --quiet $(LOCK_ARGS) $(LOCK_UPGRADE) $(BENCH_FIND_LINKS) \
	  -c requirements.txt benchmarks/requirements.in -o benchmarks/requirements.txt
	@$(MAKE) --no-print-directory environment.yml
	@echo "locked $$(grep -cE '^[A-Za-z0-9]' requirements.txt) pins (requirements.txt), $$(grep -cE '^[A-Za-z0-9]' benchmarks/requirements.txt) (benchmarks/requirements.txt)"

# conda's pip section lists the lock's pins (markers kept, hashes left out): repo2docker builds
# this file before the repository is copied in, so it cannot say `-r requirements.txt`
environment.yml: requirements.txt ## regenerate environment.yml (conda, Binder) from the lock
	@{ echo "# Generated from the lock, requirements.txt, by \`make environment.yml\` (\`make lock\` runs it): edit requirements.in."; \
	   echo "# Every pin of the lock, without its hashes; the course's helper package is installed by postBuild (Binder) or \`pip install -e .\`."; \
	   echo "name: generalizing-gd"; echo "channels:"; echo "  - conda-forge"; echo "dependencies:"; \
	   echo "  - python=3.11"; echo "  - pip"; echo "  - pip:"; \
	   grep -E '^[A-Za-z0-9]' requirements.txt | sed -E 's/ *\\$$//; s/^/      - "/; s/$$/"/'; } > $@
	@echo "wrote $@"

.PHONY: env
env: $(BIN)/.installed ## create the virtual environment (.venv) from the lock, requirements.txt

.PHONY: lab
lab: env ## learners: copy new chapters into workspace/ and open JupyterLab there
	$(BIN)/python tools/sync_workspace.py course $(WORKSPACE)
	@# learners keep nbgrader's Validate button; the instructor's tools are switched off here
	@# MPLBACKEND (Agg, exported for headless recipes) would make plt.show() draw nothing in the lab
	cd $(WORKSPACE) && env -u MPLBACKEND JUPYTER_CONFIG_PATH=$(CURDIR)/tools/learner-config \
	  $(BIN)/jupyter lab --port=$(PORT) $(ROOT_ARGS) $(LAB_ARGS)

.PHONY: instructor-lab
instructor-lab: env ## instructors: JupyterLab at the course root, with nbgrader's formgrader
	@mkdir -p exchange
	@# the solutions' hidden regions run the hidden tests from grading/ (Validate, Run All)
	env -u MPLBACKEND PYTHONPATH=$(CURDIR) $(BIN)/jupyter lab --port=$(PORT) $(ROOT_ARGS) $(LAB_ARGS)

.PHONY: test
test: env ## run every check: helper unit tests, nbval, validators, release and autograde round trip
	$(BIN)/python -m pytest $(PYTEST_ARGS)

.PHONY: release
release: env ## regenerate course/ from solutions/ (all chapters, or A=ch01_one_weight)
	@for a in $(ASSIGNMENTS); do \
	  $(BIN)/nbgrader generate_assignment "$$a" --force --log-level=WARN || exit 1; \
	  echo "released course/$$a"; \
	done

.PHONY: tidy
tidy: env ## contributors: re-execute solutions/ and keep only the nbval-pinned outputs
	$(BIN)/python tools/tidy_solutions.py

.PHONY: mistakes
mistakes: env ## contributors: rewrite the visible checks' mistake tables from grading/mutants/ (A=chapter)
	$(BIN)/python -m grading.mutants $(A)

.PHONY: collect
collect: env ## collect submissions from nbgrader's exchange into submitted/
	@for a in $(ASSIGNMENTS); do $(BIN)/nbgrader collect "$$a" --update || exit 1; done

# the gradebook learns each chapter's graded cells from solutions/; course/ is left alone
gradebook.db:
	@scratch=$$(mktemp -d) && for a in $(CHAPTERS); do \
	  $(BIN)/nbgrader generate_assignment "$$a" --force --log-level=WARN \
	    --CourseDirectory.release_directory="$$scratch" || exit 1; \
	done; rm -rf "$$scratch"

.PHONY: autograde
autograde: env gradebook.db ## grade submitted/<student>/<chapter>/ in the sandbox; report in reports/
	$(BIN)/python -m grading autograde $(A) $(if $(CELL_TIMEOUT),--cell-timeout=$(CELL_TIMEOUT)) \
	  $(if $(SUBMISSION_CAP),--submission-cap=$(SUBMISSION_CAP)) $(if $(UNSAFE_NO_SANDBOX),--unsafe-no-sandbox)

.PHONY: feedback
feedback: env ## write (again) HTML feedback for graded submissions into feedback/
	@# --force: a regraded submission's page is rewritten; ignore *: only the page, no file it wrote
	@for a in $(ASSIGNMENTS); do \
	  if compgen -G "autograded/*/$$a" >/dev/null; then \
	    $(BIN)/nbgrader generate_feedback "$$a" --force --CourseDirectory.ignore='["*"]' --log-level=WARN || exit 1; \
	  fi; \
	done

.PHONY: grades
grades: env ## export every score from the gradebook to grades.csv
	$(BIN)/nbgrader export --to grades.csv --log-level=WARN
	@echo "wrote grades.csv"

$(BENCH_BIN)/.installed: benchmarks/requirements.txt pyproject.toml
	@test -x $(BENCH_BIN)/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_BIN)/python $(PIP_INSTALL) --require-hashes -r benchmarks/requirements.txt
	$(BENCH_BIN)/python $(PIP_INSTALL) --no-deps --no-build-isolation -e .
	@touch $@

.PHONY: bench
bench: $(BENCH_BIN)/.installed ## run the benchmarks in their own environment (.venv-bench, from benchmarks/requirements.txt)
	@for b in benchmarks/bench_*.py; do PATH=$(BENCH_BIN):$$PATH $(BENCH_BIN)/python "$$b" || exit 1; done

.PHONY: clean
clean: ## remove generated grading state, caches and the virtual environment (keeps workspace/)
	rm -rf $(VENV) autograded feedback gradebook.db grades.csv reports .pytest_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
