# BlueClerk: `make run` sets up and runs the product; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
# The address the server is reached at; in sandbox mode also the base of the sandbox providers' URLs,
# so it must follow HOST and PORT (the environment wins over the value written into .env).
SITE_URL ?= http://$(HOST):$(PORT)
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/postgres
PYTEST_ARGS ?=

.PHONY: run test lint format venv env migrate demo serve check clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

# A development .env with fresh secrets (never committed). Existing values are kept.
.env: | $(VENV)/.installed
	$(PY) -c "import secrets; from cryptography.fernet import Fernet; print('SECRET_KEY=' + secrets.token_urlsafe(50)); print('INTEGRATIONS_TOKEN_KEYS=' + Fernet.generate_key().decode())" > .env
	printf 'DEBUG=true\nPROVIDER_SANDBOX=true\nSITE_URL=$(SITE_URL)\n' >> .env
	@echo "Wrote .env (development secrets; never commit it)."

env: venv .env

migrate: env
	mkdir -p db
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo --org demo

# Web server and task worker together; Ctrl-C (or TERM to this process group) stops both.
# The task cluster runs in its own session and is stopped by one TERM to its main process, the way
# django-q2 expects: a TERM reaching its worker processes directly leaves the cluster hanging.
run: demo
	@echo ""
	@echo "  BlueClerk is starting at http://$(HOST):$(PORT)/  (log in as demo / demo)"
	@echo "  Django admin: http://$(HOST):$(PORT)/admin/   Sandbox providers: http://$(HOST):$(PORT)/sandbox/"
	@echo ""
	@export SITE_URL='$(SITE_URL)'; \
	trap 'trap - INT TERM; kill -TERM $$web $$worker 2>/dev/null' INT TERM; \
	setsid $(PY) manage.py qcluster & worker=$$!; \
	$(PY) manage.py runserver --noreload $(HOST):$(PORT) & web=$$!; \
	wait $$web; kill -TERM $$worker 2>/dev/null; wait $$web $$worker 2>/dev/null; \
	echo "BlueClerk stopped."

test: venv
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check: venv
	SECRET_KEY=check DATABASE_URL=sqlite://:memory: $(PY) manage.py makemigrations --check --dry-run
	SECRET_KEY=check DATABASE_URL=sqlite://:memory: PROVIDER_SANDBOX=true $(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) db .pytest_cache
