# Agent observability stack: every command a user or CI runs goes through this file.
# `make help` lists the targets with the one-line description after each `##`.

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# Node 24 from the `node` npm package (root devDependency), so every target runs on the
# same Node whatever the system has. `npm ci` at the root installs it.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)

COMPOSE ?= docker compose
NODE_RUN := node --disable-warning=ExperimentalWarning
MOCHA := mocha --extension ts

# ---------------------------------------------------------------------------- help
.PHONY: help
help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_%-]+:.*## / {printf "  \033[36m%-22s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# ---------------------------------------------------------------------------- setup
.PHONY: install configure tools
install: ## Install the Node dependencies (repo tooling and the service)
	npm ci
	cd app && npm ci

configure: ## Create .env from .env.example (random secrets) and render the Alertmanager config
	$(NODE_RUN) scripts/configure.ts

tools: ## Build Prometheus, Alertmanager, the Collector and Jaeger at the compose pins (cached)
	bash scripts/tools/build-binaries.sh
	bash scripts/tools/build-binaries.sh helm etcd kubernetes operator-crds kube-validate

# ---------------------------------------------------------------------------- the stack
.PHONY: up down ps logs restart open alerts grafana-reset-password
up: ## Start the whole stack in Docker Compose and print its URLs
	@if ! $(COMPOSE) version >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then \
		echo "make up needs a running Docker engine with the compose plugin; without one, run: make native"; exit 1; fi
	$(NODE_RUN) scripts/configure.ts
	$(COMPOSE) up --detach --build --wait
	@$(NODE_RUN) scripts/urls.ts

down: ## Stop the stack (data volumes are kept; `make clean` removes them)
	$(COMPOSE) down

ps: ## Show the stack's containers and their health
	$(COMPOSE) ps

logs: ## Follow the logs of every service (SERVICE=app for one)
	$(COMPOSE) logs --follow $(SERVICE)

restart: ## Restart one service (SERVICE=app) or all
	$(COMPOSE) restart $(SERVICE)

open: ## Print the URLs of every UI and API
	@$(NODE_RUN) scripts/urls.ts

alerts: ## Print the alerts delivered to the local receiver
	@$(NODE_RUN) scripts/alerts.ts

grafana-reset-password: ## Set Grafana's admin password to the one in .env (Grafana keeps the first one)
	$(COMPOSE) exec grafana grafana cli admin reset-admin-password "$$(grep -E '^GRAFANA_ADMIN_PASSWORD=' .env | cut -d= -f2-)"

# ---------------------------------------------------------------------------- without Docker
.PHONY: native
native: ## Run the app, Collector, Jaeger, Prometheus and Alertmanager as local processes
	cd app && npm run build
	$(NODE_RUN) scripts/native.ts

# ---------------------------------------------------------------------------- traffic and alerts
.PHONY: load
load: ## Steady, realistic traffic (DURATION=60 seconds by default)
	$(NODE_RUN) scripts/load.ts steady

alert-%: ## Run an alert scenario: errors, latency, llm-outage, cost-spike, db-outage, auth-attack, rate-limit, service-down
	$(NODE_RUN) scripts/scenario.ts $*

# ---------------------------------------------------------------------------- development
.PHONY: build lint format dashboards check-dashboards validate
build: ## Compile the service to app/dist
	cd app && npm run build

lint: ## ESLint, Prettier and the TypeScript compiler over the whole repo
	eslint .
	prettier --check .
	tsc -p tsconfig.json
	cd app && npx tsc --noEmit -p tsconfig.json

format: ## Rewrite files with Prettier
	prettier --write .

dashboards: ## Regenerate grafana/dashboards/*.json from grafana/src/
	$(NODE_RUN) grafana/src/index.ts

check-dashboards: dashboards ## Fail when the committed dashboards differ from the generator's output
	git diff --exit-code -- grafana/dashboards

.PHONY: helm-sync check-helm
helm-sync: ## Regenerate the Helm chart's rules, dashboards and configs from prometheus/, grafana/, otel-collector/ ...
	$(NODE_RUN) scripts/helm-sync.ts

check-helm: ## Fail when the Helm chart's generated files differ from their sources
	$(NODE_RUN) scripts/helm-sync.ts --check

validate: ## Check every config with the real programs and the static tests
	$(MOCHA) 'test/config/**/*.test.ts'
	$(MOCHA) 'test/kubernetes/**/*.test.ts'

# ---------------------------------------------------------------------------- tests
.PHONY: test test-app test-unit test-rules e2e
test: lint check-dashboards test-app test-unit validate test-rules e2e ## Every test (no Docker needed)

test-app: ## The service's tests (mocha + supertest, real OTLP and Sentry receivers)
	cd app && npm test

test-unit: ## Unit tests of the tooling (config rewrite, load generator, dashboards)
	$(MOCHA) 'test/unit/**/*.test.ts' 'test/grafana/**/*.test.ts'

test-rules: ## promtool unit tests of every rule, amtool routing tests, runbook checks
	$(MOCHA) 'test/rules/**/*.test.ts'

e2e: build ## The whole-stack test: app, Collector, Jaeger, Prometheus, Alertmanager, alert scenarios
	$(MOCHA) --timeout 600000 'test/e2e/**/*.test.ts'

# ---------------------------------------------------------------------------- benchmark
.PHONY: bench
bench: build ## Measure what telemetry costs the service (table, JSON and SVG chart)
	$(NODE_RUN) scripts/bench/run.ts

# ---------------------------------------------------------------------------- cleanup
.PHONY: clean
clean: ## Remove the stack's containers and volumes, build output and local state
	-$(COMPOSE) down --volumes --remove-orphans 2>/dev/null
	rm -rf app/dist app/build .native .data
