# The two commands of the README: `make run` and `make test`. Both set everything up first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
WEB_PORT ?= 8000
CI_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/tracker
CI_REDIS_URL ?= redis://127.0.0.1:6379/0

# Local development mode: a secret key is generated once into var/. Production sets DEBUG=false.
export DEBUG ?= true

.PHONY: setup run test bench lint format clean

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 이상이 필요합니다 / Python 3.11+ is required")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.lock
	touch $@

# Links in e-mails and on the calendar page follow the port the web server listens on (unless SITE_URL is set).
run: export SITE_URL ?= http://127.0.0.1:$(WEB_PORT)
run: setup
	bash scripts/install-system.sh
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py load_seeds
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py create_admin
	@echo ""
	@echo "  부산 성장전략 핵심사업 관리: http://127.0.0.1:$(WEB_PORT)/   (관리자 화면: http://127.0.0.1:$(WEB_PORT)/admin/)"
	@echo "  웹 서버, Celery 워커, Celery beat를 시작합니다. Ctrl-C로 모두 멈춥니다."
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" WEB_PORT=$(WEB_PORT) SITE_URL="$(SITE_URL)" $(BIN)/honcho start -f Procfile

# With CI set, the suite runs twice: against PostgreSQL and Redis on loopback, then on the SQLite default.
# pytest-xdist runs it in one worker process per core (TEST_WORKERS=0: all in this process), each with its own
# test database (test_tracker_gw0, …; SQLite in memory). A module (or class) goes to one worker whole, so that its
# shared rows (tests/conftest.py: shared_rows) are still made once.
TEST_WORKERS ?= auto
PYTEST := $(BIN)/pytest -n $(TEST_WORKERS) --dist loadscope

test: setup
	bash scripts/install-system.sh
	bash scripts/install-browser.sh
ifdef CI
	DATABASE_URL=$(CI_DATABASE_URL) REDIS_URL=$(CI_REDIS_URL) $(PYTEST)
	env -u DATABASE_URL -u REDIS_URL $(PYTEST) -m "not postgres and not redis"
else
	$(PYTEST)
endif

# Benchmarks (not tests): each prints a table and writes it to bench/results/. Needs PostgreSQL and Redis.
# BENCH_SCALE_ARGS="--planner-scales 1000" adds the planner over 710,000 milestones to bench/scale.py.
bench: setup
	$(BIN)/python bench/portfolio.py
	$(BIN)/python bench/reminders.py
	$(BIN)/python bench/digest.py
	$(BIN)/python bench/scale.py $(BENCH_SCALE_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
