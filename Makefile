# Sundial: `make run` serves, `make test` runs the whole suite. Both set up everything they need.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
BUF := node_modules/.bin/buf
REDOCLY := node_modules/.bin/redocly
TSC := node_modules/.bin/tsc
CONSOLE := src/sundial/gateway/console
SITE = $(shell $(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
PROTOS := $(wildcard proto/sundial/v1/*.proto)
DATABASE_URL ?= sqlite:///./sundial.db
GRPC_ADDRESS ?= 127.0.0.1:50051
HTTP_ADDRESS ?= 127.0.0.1:8080

OPENAPI := openapi/sundial.openapi.json

.PHONY: install run test browser lint gen check-gen openapi check-openapi lint-openapi console \
  check-console test-console clean

install: $(STAMP) $(BUF)

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

# npm ci installs exactly the lock (buf, redocly, esbuild, typescript), and never rewrites it (npm install did,
# on a fresh clone).
$(BUF): package.json package-lock.json
	npm ci --silent --no-audit --no-fund
	touch $@

run: $(STAMP)
	$(VENV)/bin/sundial serve --database-url '$(DATABASE_URL)' --grpc-address '$(GRPC_ADDRESS)' \
	  --http-address '$(HTTP_ADDRESS)'

# Work stealing, not xdist's default `load`: `load` hands each worker a first chunk of a
# quarter of the tests, so the first worker got every slow test (they are sorted first, see
# tests/conftest.py) and the run ended on its queue; a worker that runs out steals half of
# the other's queue.
test: $(STAMP) $(BUF) browser
	$(PY) -m pytest -n 2 --dist worksteal $(PYTEST_ARGS)

# The headless Chromium and chromedriver that tests/browser drive (Debian's packages), and
# axe-core (node_modules, by npm ci) that they inject.
browser:
	scripts/browser.sh

lint: $(STAMP) $(BUF) build/buf-deps
	$(VENV)/bin/ruff check src tests bench migrations
	$(VENV)/bin/ruff format --check src tests bench migrations
	$(VENV)/bin/mypy
	$(BUF) lint

# googleapis' annotation protos, for buf to resolve imports (see buf.yaml).
build/buf-deps: $(STAMP)
	mkdir -p $@/google/api
	cp $(SITE)/google/api/{annotations,http,field_behavior}.proto $@/google/api/

gen: $(STAMP)
	scripts/gen.sh gen

check-gen: $(STAMP)
	@tmp=$$(mktemp -d) && scripts/gen.sh $$tmp && \
	  if diff -r -q gen $$tmp >/dev/null; then echo "gen/ is up to date"; rm -rf $$tmp; \
	  else diff -r gen $$tmp | head -40; echo "gen/ is stale: run 'make gen' and commit"; rm -rf $$tmp; exit 1; fi

# The REST gateway's OpenAPI document, built from the services' descriptors (gen/), as
# GET /openapi.json serves it. Run `make gen` first when the protos changed.
openapi: $(STAMP)
	$(PY) -m sundial.gateway $(OPENAPI)

check-openapi: $(STAMP)
	@tmp=$$(mktemp) && $(PY) -m sundial.gateway $$tmp && \
	  if cmp -s $(OPENAPI) $$tmp; then echo "$(OPENAPI) is up to date"; rm -f $$tmp; \
	  else diff -u $(OPENAPI) $$tmp | head -40; rm -f $$tmp; \
	    echo "$(OPENAPI) is stale: run 'make openapi' and commit"; exit 1; fi

# Redocly's recommended rules over the committed document (redocly.yaml): fails on any
# error. No telemetry, no update check: CI reaches no network but the package registries.
lint-openapi: $(BUF)
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true $(REDOCLY) lint --format=summary

# The web console (console/src, TypeScript) type-checked, then bundled by esbuild into the
# package (served at /console/); the build is committed like gen/, so serving needs no Node.
console: $(BUF)
	$(TSC) -p console
	node scripts/build-console.mjs $(CONSOLE)

check-console: $(BUF)
	@$(TSC) -p console
	@tmp=$$(mktemp -d) && node scripts/build-console.mjs $$tmp && \
	  if diff -r -q $(CONSOLE) $$tmp >/dev/null; then echo "$(CONSOLE) is up to date"; rm -rf $$tmp; \
	  else diff -r -q $(CONSOLE) $$tmp | head -20; rm -rf $$tmp; \
	    echo "$(CONSOLE) is stale: run 'make console' and commit"; exit 1; fi

# The console's unit tests (tests/console/*.test.ts) under Node's test runner; the pages
# themselves are tested in a real browser by the Python suite.
test-console: $(BUF)
	node scripts/test-console.mjs

clean:
	rm -rf $(VENV) node_modules build .pytest_cache .mypy_cache .ruff_cache
