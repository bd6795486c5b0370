# BlueClerk: `make run` sets up and runs the product; `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000
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
.env:
	$(PY) -c "import secrets; from cryptography.fernet import Fernet; print('SECRET_KEY=' + secrets.token_urlsafe(50)); print('INTEGRATIONS_TOKEN_KEYS=' + Fernet.generate_key().decode())" > .env
	printf 'DEBUG=true\nPROVIDER_SANDBOX=true\nSITE_URL=http://$(HOST):$(PORT)\n' >> .env
	@echo "Wrote .env (development secrets; never commit it)."

env: venv .env

migrate: env
	mkdir -p db
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo --org demo

# Web server and task worker together; Ctrl-C stops both.
run: demo
	@echo ""
	@echo "  BlueClerk is starting at http://$(HOST):$(PORT)/  (log in as demo / demo)"
	@echo "  Django admin: http://$(HOST):$(PORT)/admin/   Sandbox providers: http://$(HOST):$(PORT)/sandbox/"
	@echo ""
	@trap 'kill 0' INT TERM EXIT; \
	$(PY) manage.py qcluster & \
	$(PY) manage.py runserver --noreload $(HOST):$(PORT)

test: venv
	TEST_DATABASE_URL=$(TEST_DATABASE_URL) $(VENV)/bin/pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

check: venv
	SECRET_KEY=check $(PY) manage.py makemigrations --check --dry-run
	SECRET_KEY=check PROVIDER_SANDBOX=true $(PY) manage.py makemigrations --check --dry-run

clean:
	rm -rf $(VENV) db .pytest_cache
