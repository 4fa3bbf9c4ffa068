# Agent observability stack: every command a user or CI runs goes through this file.
# `make help` lists the targets with the one-line description after each `##`.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# Node 24 from the `node` npm package (root devDependency), so every target runs on the
# same Node whatever the system has. `npm ci` at the root installs it.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

COMPOSE ?= docker compose
export COMPOSE
NODE_RUN := node --disable-warning=ExperimentalWarning
MOCHA := mocha --extension ts

# Where the stack targets (configure, up, open, alerts, load, alert-*) run their Node scripts
# (docs/decisions/0005-tooling-without-host-node.md):
#   host       Node 24 from `make install` (the default once node_modules exists)
#   container  the tools image, built on first use: a host with Docker alone needs no Node
# TOOLS_RUN reaches the running stack (compose network, or 127.0.0.1 / a `make native` on the
# host); TOOLS_RUN_OFFLINE has no network. Use them as `$(TOOLS_RUN) scripts/x.ts args`.
TOOLS ?= $(if $(wildcard $(CURDIR)/node_modules/.bin/node),host,container)
ifeq ($(TOOLS),host)
TOOLS_RUN := $(NODE_RUN)
TOOLS_RUN_OFFLINE := $(NODE_RUN)
NEED_TOOLS = $(NEED_NODE)
NEED_STACK = $(NEED_NODE)
else
NEED_TOOLS = $(NEED_DOCKER)
# The compose network the tools container joins; missing while the stack is down.
STACK_NETWORK ?= agent-observability_default
export STACK_NETWORK
NEED_STACK = $(NEED_DOCKER)$(call fail_with,$(shell docker network inspect $(STACK_NETWORK) >/dev/null 2>&1 || echo "The stack is not running (no Docker network $(STACK_NETWORK)): start it with make up"))
TOOLS_RUN := bash scripts/host/tools.sh stack
TOOLS_RUN_OFFLINE := bash scripts/host/tools.sh offline
endif

# `make up TIME_SCALE=60`: every alerting time parameter 60 times faster, as `make native
# TIME_SCALE=60`. `make configure TIME_SCALE=60` renders the override and its configs.
TIME_SCALE_OVERRIDE := .compose/time-scale.yml
COMPOSE_FILES = $(if $(filter-out 1,$(TIME_SCALE)),-f docker-compose.yml -f $(TIME_SCALE_OVERRIDE))
# Seconds `docker compose up --wait` waits for every service to be healthy (Grafana's first
# start_period is 180 s) before it gives up and `make up` shows what failed.
WAIT_TIMEOUT ?= 300
# Checks that run before anything else, each failing with one line that says what is missing
# and how to get it (make's own `*** ... Stop.` line, no second line, no stack trace).
fail_with = $(if $(strip $(1)),$(error $(strip $(1))))
NEED_DOCKER = $(call fail_with,$(shell bash scripts/host/need-docker.sh 2>&1))
NEED_NODE = $(if $(wildcard node_modules/.bin/node),,$(error make $@ needs Node 24 from make install (npm ci); with Docker alone use make up, load, alerts, alert-*))

# ---------------------------------------------------------------------------- help
.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_%-]+:.*## / {printf "  \033[36m%-22s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# ---------------------------------------------------------------------------- setup
.PHONY: install install-python configure tools
install: ## Install the Node dependencies (repo tooling and the service) and the Python example's venv
	@command -v npm >/dev/null || { echo "make install needs npm (Node.js from your package manager or https://nodejs.org); make up needs only Docker" >&2; exit 1; }
	npm ci
	cd app && npm ci
	@# Without Python 3.11 (status 3) the rest still works; make native then runs no Python example.
	bash scripts/host/python-venv.sh || test $$? -eq 3

install-python: ## The Python example's venv (examples/python-agent/.venv) from its hashed lock file (PYTHON=python3.11)
	bash scripts/host/python-venv.sh

configure: ## Create .env from .env.example (random secrets, API keys) and render the Alertmanager config
	$(NEED_TOOLS)
	$(TOOLS_RUN_OFFLINE) scripts/configure.ts

# The groups of scripts/tools/pins.txt: make validate's checkers, the stack's programs, the
# Kubernetes validation of deploy/helm (docs/kubernetes.md). Not the engine group (Compose for a
# Docker Engine run): a Docker host has its own.
tools: ## Build the pinned programs of scripts/tools/pins.txt (checkers, stack, Kubernetes validation), cached
	bash scripts/tools/build-binaries.sh validate stack kube

# ---------------------------------------------------------------------------- the stack
.PHONY: up down ps logs restart open alerts grafana-reset-password
up: ## Start the whole stack in Docker Compose and print its URLs (TIME_SCALE=60: alerts in seconds)
	$(NEED_DOCKER)
	$(TOOLS_RUN_OFFLINE) scripts/configure.ts
	@bash scripts/host/check-ports.sh
	$(COMPOSE) $(COMPOSE_FILES) up --detach --build --wait --wait-timeout $(WAIT_TIMEOUT) || \
		{ bash scripts/host/diagnose.sh $(COMPOSE_FILES); exit 1; }
	@# Alertmanager reads the files alertmanager-config just copied (a changed .env or scale).
	@$(COMPOSE) $(COMPOSE_FILES) kill --signal SIGHUP alertmanager >/dev/null
	$(if $(filter-out 1,$(TIME_SCALE)),@$(TOOLS_RUN) scripts/compose-rules.ts)
	@$(TOOLS_RUN_OFFLINE) scripts/urls.ts

down: ## Stop the stack (data volumes are kept; `make clean` removes them)
	$(NEED_DOCKER)
	$(COMPOSE) down

ps: ## Show the stack's containers and their health
	$(NEED_DOCKER)
	$(COMPOSE) ps --all

logs: ## Follow the logs of every service (SERVICE=app for one)
	$(NEED_DOCKER)
	$(COMPOSE) logs --follow $(SERVICE)

restart: ## Restart one service (SERVICE=app) or all; Alertmanager gets its config files again first
	$(NEED_DOCKER)
	$(if $(filter-out alertmanager,$(SERVICE)),,$(COMPOSE) run --rm --no-deps alertmanager-config)
	$(COMPOSE) restart $(SERVICE)

open: ## Print the URLs of every UI and API
	$(NEED_TOOLS)
	@$(TOOLS_RUN_OFFLINE) scripts/urls.ts

alerts: ## Print the alerts delivered to the local receiver
	$(NEED_STACK)
	@$(TOOLS_RUN) scripts/alerts.ts

grafana-reset-password: ## Set Grafana's admin password to the one in .env (Grafana keeps the first one)
	$(NEED_DOCKER)
	$(COMPOSE) exec grafana grafana cli admin reset-admin-password "$$(grep -E '^GRAFANA_ADMIN_PASSWORD=' .env | cut -d= -f2-)"

# ---------------------------------------------------------------------------- without Docker
.PHONY: native
native: ## Run the app, Collector, Jaeger, Prometheus and Alertmanager as local processes
	$(NEED_NODE)
	cd app && npm run build
	$(NODE_RUN) scripts/native.ts

# ---------------------------------------------------------------------------- traffic and alerts
.PHONY: load
load: ## Steady, realistic traffic (DURATION=60 seconds by default)
	$(NEED_STACK)
	$(TOOLS_RUN) scripts/load.ts steady

# It stops and starts the app: from the tools container, through the host (no Docker socket).
alert-service-down:
	$(NEED_STACK)
	$(if $(filter container,$(TOOLS)),bash scripts/host/app-control.sh) $(TOOLS_RUN) scripts/scenario.ts service-down

# After `make load`: every check of a running stack, one line each (docs/ci.md).
.PHONY: smoke
smoke: ## Check a running stack (compose or native) from outside: health, targets, rules, traces, Grafana
	$(NEED_STACK)
	$(TOOLS_RUN) scripts/smoke.ts

alert-%: ## Run an alert scenario: errors, latency, llm-outage, cost-spike, slow-llm, runaway, db-outage, auth-attack, rate-limit, service-down
	$(NEED_STACK)
	$(TOOLS_RUN) scripts/scenario.ts $*

# ---------------------------------------------------------------------------- development
.PHONY: build lint format dashboards check-dashboards validate
build: ## Compile the service to app/dist
	$(NEED_NODE)
	cd app && npm run build

lint: ## ESLint, Prettier and the TypeScript compiler over the whole repo
	$(NEED_NODE)
	eslint .
	prettier --check .
	tsc -p tsconfig.json
	cd app && npx tsc --noEmit -p tsconfig.json

format: ## Rewrite files with Prettier
	prettier --write .

dashboards: ## Regenerate grafana/dashboards/*.json from grafana/src/
	$(NEED_NODE)
	$(NODE_RUN) grafana/src/index.ts

check-dashboards: dashboards ## Fail when the committed dashboards differ from the generator's output
	git diff --exit-code -- grafana/dashboards

.PHONY: services check-services
services: ## Regenerate the per-service rules and Alertmanager team routes from services.yml (then make dashboards)
	$(NODE_RUN) scripts/services.ts

check-services: ## Fail when the files services.yml generates differ from it
	$(NODE_RUN) scripts/services.ts --check

.PHONY: helm-sync check-helm
helm-sync: ## Regenerate the Helm chart's rules, dashboards and configs from prometheus/, grafana/, otel-collector/ ...
	$(NODE_RUN) scripts/helm-sync.ts

check-helm: ## Fail when the Helm chart's generated files differ from their sources
	$(NODE_RUN) scripts/helm-sync.ts --check

validate: ## Check every config with the real programs and the static tests
	$(NEED_NODE)
	$(NODE_RUN) scripts/services.ts --check
	$(MOCHA) 'test/config/**/*.test.ts'
	$(MOCHA) 'test/kubernetes/**/*.test.ts'

# ---------------------------------------------------------------------------- tests
.PHONY: test test-app test-unit test-rules e2e test-attack
test: lint check-dashboards test-app test-unit validate test-rules e2e ## Every test (no Docker needed)

test-app: ## The service's tests (mocha + supertest, real OTLP and Sentry receivers; the attack suite at a tenth of its timeouts)
	$(NEED_NODE)
	cd app && npm test

test-attack: ## The attack suite at the service's default timeouts: one hostile client at a time, loopback only (~3 min)
	$(NEED_NODE)
	cd app && ATTACK_SETTINGS=default npm run test:attack

test-unit: ## Unit tests of the tooling (config rewrite, load generator, dashboards)
	$(NEED_NODE)
	$(MOCHA) 'test/unit/**/*.test.ts' 'test/grafana/**/*.test.ts'

test-rules: ## promtool unit tests of every rule, amtool routing tests, runbook checks
	$(NEED_NODE)
	$(MOCHA) 'test/rules/**/*.test.ts'

e2e: build ## The whole-stack test: app, Collector, Jaeger, Prometheus, Alertmanager, alert scenarios
	$(MOCHA) --timeout 600000 'test/e2e/**/*.test.ts'

# On a Docker Engine of the tests' own (scripts/tools/engine.sh; as root, which runs dockerd):
# the stand-in images, then `make up`, smoke, load, alerts, restart, down/up and clean from a
# fresh copy of the clone as a non-root user without Node (docs/docker.md). An engine it
# started is stopped again; its data root (the images) stays as a cache.
.PHONY: test-compose
test-compose: ## The compose stack on a Docker Engine of its own, with stand-in images (root)
	$(NEED_NODE)
	@was_running=$$(bash scripts/tools/engine.sh status >/dev/null 2>&1 && echo yes || true); \
	bash scripts/tools/engine.sh start; \
	status=0; $(MOCHA) --timeout 900000 'test/compose/**/*.test.ts' || status=$$?; \
	if [ -z "$$was_running" ]; then bash scripts/tools/engine.sh stop; fi; \
	exit $$status

# ---------------------------------------------------------------------------- benchmark
.PHONY: bench bench-publish
bench: build ## Telemetry cost vs bare and conventional OTel, added latency, the stack footprint (~13 min)
	$(NEED_NODE)
	$(NODE_RUN) scripts/bench/run.ts

bench-publish: ## Copy the last `make bench` results over the published docs/bench/results.json and bench.svg
	@test -f scripts/bench/results/results.json || { echo "no results yet: run make bench first"; exit 1; }
	cp scripts/bench/results/results.json scripts/bench/results/bench.svg docs/bench/
	prettier --write docs/bench/results.json

# ---------------------------------------------------------------------------- cleanup
.PHONY: clean
clean: ## Remove the stack's containers and volumes, build output and local state
	-$(COMPOSE) down --volumes --remove-orphans 2>/dev/null
	rm -rf app/dist app/build .native .data .compose
