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
PYTEST_ARGS ?= -v
# grading limits: empty means the defaults in grading/settings.py
CELL_TIMEOUT ?=
SUBMISSION_CAP ?=
# submissions graded at once (empty: one per core), and SHARD=i/K for one of K grading machines
WORKERS ?=
SHARD ?=
# the gradebook: a database URL (postgresql://user:password@host:port/database), or empty for the
# SQLite gradebook.db in the course root; nbgrader_config.py reads it (grading/settings.py)
DB_URL ?=
export DB_URL
# the multi-user course on one host (deploy/hub/, `make hub`): students' environment, nbgrader's
# exchange, the hub's private state, the Unix group whose members may log in, and where they connect
STUDENT_ENV ?= /opt/generalizing-gd
# nbgrader's exchange (empty: EXCHANGE in grading/settings.py); nbgrader_config.py reads it from here
EXCHANGE ?=
ifneq ($(EXCHANGE),)
export NBGRADER_EXCHANGE := $(EXCHANGE)
endif
HUB_STATE ?= /srv/generalizing-gd/hub
STUDENT_GROUP ?= gd-students
HUB_IP ?= 127.0.0.1
HUB_PORT ?= 8000
# the interpreter the student environment is made from (empty: the course's, copied if students cannot read it)
STUDENT_PYTHON ?=
PROXY := $(CURDIR)/deploy/hub/.node/node_modules/.bin/configurable-http-proxy
NPM ?= npm

.DEFAULT_GOAL := help

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z.-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'
	@echo "  variables: PORT=$(PORT) LAB_ARGS=... A=<chapter> VENV=$(VENV)"
	@echo "  grading:   CELL_TIMEOUT=<s> SUBMISSION_CAP=<s> WORKERS=<n> SHARD=<i>/<K> (defaults in grading/settings.py)"
	@echo "             UNSAFE_NO_SANDBOX=1 (trusted submissions only)"
	@echo "  gradebook: DB_URL=postgresql://user:password@host:port/database (default: gradebook.db, SQLite)"

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
	$(BIN)/python lab/sync_workspace.py course $(WORKSPACE)
	@# learners keep nbgrader's Validate button; the instructor's tools are switched off here
	@# MPLBACKEND (Agg, exported for headless recipes) would make plt.show() draw nothing in the lab
	cd $(WORKSPACE) && env -u MPLBACKEND JUPYTER_CONFIG_PATH=$(CURDIR)/lab/config \
	  $(BIN)/jupyter lab --port=$(PORT) $(ROOT_ARGS) $(LAB_ARGS)

.PHONY: progress
progress: env ## learners: run the chapters in workspace/ as saved; which exercises pass their visible checks
	$(BIN)/python -m gdlib.progress $(WORKSPACE)

.PHONY: instructor-lab
instructor-lab: env ## instructors: JupyterLab at the course root, with nbgrader's formgrader
	@# the solutions' hidden regions run the hidden tests from grading/ (Validate, Run All)
	env -u MPLBACKEND PYTHONPATH=$(CURDIR) $(BIN)/jupyter lab --port=$(PORT) $(ROOT_ARGS) $(LAB_ARGS)

# tests pin BLAS to one thread per process, before pytest loads NumPy (tests/conftest.py does it for kernels)
test test-fast test-sweep: export OPENBLAS_NUM_THREADS := 1
test test-fast test-sweep: export OMP_NUM_THREADS := 1

.PHONY: test
test: env lint ## run every check: lint, helper unit tests, notebooks, grading, browser and hub round trips
	$(BIN)/python -m pytest $(PYTEST_ARGS)

.PHONY: test-sweep
test-sweep: env ## the hidden tests on correct answers over the long seed sweep (1000 seeds; make test runs 200)
	GD_LONG_SWEEP=1 $(BIN)/python -m pytest tests/test_hidden.py -k long_sweep $(PYTEST_ARGS)

.PHONY: test-fast
test-fast: lint ## the edit loop (under a minute): lint, spelling, unit tests, release checks
	$(BIN)/python -m pytest -m "(unit or release) and not slow" $(PYTEST_ARGS)

# ruff's rules and its temporary per-file ignores are in pyproject.toml ([tool.ruff])
LINT_PATHS := gdlib grading lab tools tests benchmarks solutions
SPELL_PATHS := README.md $(wildcard solutions/*/*.ipynb)

.PHONY: lint
lint: env ## ruff over the code and the solution notebooks; codespell over the notebooks and README.md
	$(BIN)/ruff check --quiet $(LINT_PATHS)
	$(BIN)/codespell $(SPELL_PATHS)

.PHONY: release
release: env ## regenerate course/ from solutions/ (all chapters, or A=ch01_one_weight)
	$(BIN)/python -m grading release $(A)

.PHONY: tidy
tidy: env ## contributors: re-execute solutions/ and keep only the nbval-pinned outputs
	$(BIN)/python tools/tidy_solutions.py

.PHONY: mistakes
mistakes: env ## contributors: write the visible checks' mistake tables, gdlib/mistakes/, from grading/mutants/ (A=chapter)
	$(BIN)/python -m grading.mutants $(A)

.PHONY: collect
collect: env ## collect submissions from nbgrader's exchange (EXCHANGE) into submitted/; odd hand-ins wait in quarantine/
	$(BIN)/python -m grading collect $(A)

.PHONY: publish
publish: env ## release A=<chapter> (from course/) to the students through the exchange (EXCHANGE)
	$(BIN)/python -m grading publish $(A)

.PHONY: return-feedback
return-feedback: env ## write the feedback, then return it to the students through the exchange (A=<chapter>, PROVISIONAL=1)
	$(BIN)/python -m grading return-feedback $(A) $(if $(PROVISIONAL),--provisional)

.PHONY: hub-setup
hub-setup: env ## root: the student environment, the exchange, the proxy and the permissions for `make hub`
	@test "$$(id -u)" = 0 || { echo "make hub-setup needs root: it builds $(STUDENT_ENV), the exchange and sets permissions (sudo make hub-setup)" >&2; exit 2; }
	@test -x $(PROXY) || { command -v $(NPM) >/dev/null || { echo "make hub-setup: npm is missing; the hub's proxy" \
	  "(configurable-http-proxy) needs Node.js 18+ and npm: apt-get install nodejs npm" >&2; exit 2; }; \
	  $(NPM) install --prefix deploy/hub/.node --no-fund --no-audit --loglevel=error configurable-http-proxy@5.3.0; }
	$(BIN)/python deploy/hub/prepare.py setup --course-root=$(CURDIR) --student-env=$(STUDENT_ENV) $(if $(EXCHANGE),--exchange=$(EXCHANGE)) \
	  --hub-state=$(HUB_STATE) --group=$(STUDENT_GROUP) $(if $(STUDENT_PYTHON),--python=$(STUDENT_PYTHON))

.PHONY: hub
hub: hub-setup ## root: set up (hub-setup), then run JupyterHub for the students on HUB_IP:HUB_PORT
	@$(BIN)/python deploy/hub/prepare.py ports --ip=$(HUB_IP) --port=$(HUB_PORT)
	cd $(HUB_STATE) && env -u MPLBACKEND -u PYTHONPATH GD_HUB_IP=$(HUB_IP) GD_HUB_PORT=$(HUB_PORT) GD_STUDENT_ENV=$(STUDENT_ENV) \
	  GD_STUDENT_GROUP=$(STUDENT_GROUP) GD_HUB_STATE=$(HUB_STATE) GD_PROXY=$(PROXY) \
	  $(BIN)/jupyterhub -f $(CURDIR)/deploy/hub/jupyterhub_config.py

# the gradebook learns each chapter's graded cells from solutions/ (course/ is left alone), again whenever
# a chapter's solution changed: autograde, feedback, return-feedback and grades do it first themselves
# (grading/database.py), so this target is only a check. gradebook.db is its old name, kept as an alias
.PHONY: gradebook gradebook.db
gradebook: env ## check the gradebook (DB_URL, or gradebook.db); register chapters it lacks or whose solution changed
	@$(BIN)/python -m grading gradebook $(CHAPTERS)
gradebook.db: gradebook

.PHONY: autograde
autograde: env ## grade submitted/<student>/<chapter>/ in the sandbox; report in reports/
	$(BIN)/python -m grading autograde $(A) $(if $(CELL_TIMEOUT),--cell-timeout=$(CELL_TIMEOUT)) \
	  $(if $(SUBMISSION_CAP),--submission-cap=$(SUBMISSION_CAP)) $(if $(UNSAFE_NO_SANDBOX),--unsafe-no-sandbox) \
	  $(if $(WORKERS),--workers=$(WORKERS)) $(if $(SHARD),--shard=$(SHARD))

.PHONY: feedback
feedback: env ## write (again) HTML feedback into feedback/; PROVISIONAL=1 also writes pages whose written answers wait, marked
	$(BIN)/python -m grading feedback $(A) $(if $(PROVISIONAL),--provisional)

.PHONY: grades
grades: env ## export the gradebook for an LMS: grades.csv (per chapter), grades_wide.csv
	$(BIN)/python -m grading grades

$(BENCH_BIN)/.installed: benchmarks/requirements.txt pyproject.toml
	@test -x $(BENCH_BIN)/python || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_BIN)/python $(PIP_INSTALL) --require-hashes -r benchmarks/requirements.txt
	$(BENCH_BIN)/python $(PIP_INSTALL) --no-deps --no-build-isolation -e .
	@touch $@

.PHONY: bench
bench: $(BENCH_BIN)/.installed ## run the benchmarks in their own environment (.venv-bench, from benchmarks/requirements.txt)
	@for b in benchmarks/bench_*.py; do PATH=$(BENCH_BIN):$$PATH $(BENCH_BIN)/python "$$b" || exit 1; done

.PHONY: clean
clean: ## remove generated grading state, caches and the virtual environments (keeps workspace/)
	rm -rf $(VENV) $(BENCH_VENV) $(LOCK_VENV) autograded feedback gradebook.db grades.csv grades_wide.csv reports .pytest_cache
	find . -name __pycache__ -prune -exec rm -rf {} +
