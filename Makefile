# Move to Luleå assistant. `make run` starts everything; `make test` runs the whole suite.
# Both create what is missing first (environments, embedding model, index, Rasa model).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON311 ?= $(shell command -v python3.11 || command -v python3)
PYTHON310 ?= $(shell p=$$(pyenv root 2>/dev/null)/versions/3.10.13/bin/python; [ -x "$$p" ] && echo $$p || command -v python3.10)
APP_VENV  := .venv/app
RASA_VENV := .venv/rasa
APP  := $(APP_VENV)/bin/python
RASA := $(RASA_VENV)/bin/rasa
PIP_PROGRESS ?= --progress-bar=on
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help setup envs train run test browser-deps lint knowledge-check knowledge-confirm knowledge-build eval calibrate bench-understanding bench soak lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(APP_VENV)/.installed: requirements/app.lock
	@echo "==> app environment (Python 3.11): installing from requirements/app.lock"
	@test -x "$(APP)" || $(PYTHON311) -m venv $(APP_VENV)
	$(APP) -m pip install --disable-pip-version-check $(PIP_PROGRESS) -r requirements/app.lock
	@touch $@

$(RASA_VENV)/.installed: requirements/rasa.lock
	@echo "==> rasa environment (Python 3.10): installing from requirements/rasa.lock (about 3 minutes, 2.7 GB)"
	@test -n "$(PYTHON310)" || { echo "Python 3.10 not found: install it with pyenv (pyenv install 3.10.13)"; exit 1; }
	@test -x "$(RASA_VENV)/bin/python" || $(PYTHON310) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/python -m pip install --disable-pip-version-check $(PIP_PROGRESS) -r requirements/rasa.lock
	@touch $@

envs: $(APP_VENV)/.installed $(RASA_VENV)/.installed ## create both Python environments from the lock files

setup: envs ## everything `run` needs: environments, embedding model, knowledge index, Rasa model
	$(APP) -m scripts.stack prepare

train: envs ## retrain the Rasa model if its inputs changed
	$(APP) -m scripts.stack train

run: envs ## prepare what is missing, start Rasa + action server + web app, print the URL
	$(APP) -m scripts.stack run

# The browser tests drive Debian's Chromium (installed once, as root) and audit with axe-core (npm).
browser-deps: ## Chromium (Debian package) and axe-core (npm) for the browser tests; skipped when present
	@command -v chromium >/dev/null 2>&1 || { echo "==> installing Debian's chromium for the browser tests"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium; }
	@[ -f node_modules/axe-core/axe.min.js ] && [ node_modules/.package-lock.json -nt package-lock.json ] || \
	  { echo "==> installing axe-core from package-lock.json"; npm ci --no-audit --no-fund; }

test: envs browser-deps ## run the whole test suite (unit and end-to-end, real services, headless Chromium)
	$(APP) -m pytest

lint: envs ## ruff, knowledge check, Rasa data validation (fails on errors; button-only intents give warnings)
	$(APP) -m ruff check .
	$(APP) -m knowledge check
	$(APP) -m web.staff.replies
	$(APP) -m scripts.stack generate
	RASA_TELEMETRY_ENABLED=false $(RASA) data validate --config config.yml --domain bot/domain --data bot/data

knowledge-confirm: envs ## after reviewing a translation: make knowledge-confirm UNIT=admin.bank [LANGS="pl lt"]
	$(APP) -m knowledge confirm $(UNIT) $(foreach l,$(LANGS),--lang $(l))

knowledge-check: envs ## validate the knowledge files (errors name file and line) and the staff reply templates (replies/)
	$(APP) -m knowledge check
	$(APP) -m web.staff.replies

knowledge-build: envs ## regenerate Rasa NLU data and the search index from knowledge/
	$(APP) -m knowledge build

eval: envs ## dev-set questions and scripted conversations through the live chat API, beside the cross-validated figures (var/eval/)
	$(APP) -m knowledge.eval $(EVAL_FILES)

calibrate: envs ## fit the decision weights and thresholds (knowledge/decision.yml) by cross-validation on the knowledge base's own examples
	$(APP) -m knowledge.calibrate

bench-understanding: envs ## time index build and per-question retrieval in-process; memory
	$(APP) -m knowledge.bench

bench: envs ## end-to-end latency, throughput, baseline ratio, start-up, memory, retrain (report in var/bench/)
	$(APP) -m scripts.bench $(BENCH_ARGS)

soak: envs ## load/soak on the production profile: 50 conversations x 10 min, errors, p50/p95, memory growth, leads (report in var/soak/)
	$(APP) -m scripts.soak $(SOAK_ARGS)

lock: ## regenerate the lock files from requirements/*.in (after changing them)
	rm -rf /tmp/move-lock && $(PYTHON311) -m venv /tmp/move-lock/app && /tmp/move-lock/app/bin/pip install -q -r requirements/app.in && /tmp/move-lock/app/bin/pip freeze > requirements/app.lock
	$(PYTHON310) -m venv /tmp/move-lock/rasa && /tmp/move-lock/rasa/bin/pip install -q -r requirements/rasa.in && /tmp/move-lock/rasa/bin/pip freeze > requirements/rasa.lock

clean: ## remove generated files and runtime data (keeps the environments)
	rm -rf var bot/models bot/data/generated bot/domain/generated_topics.yml .pytest_cache
