# The few commands everyone uses. `make run` and `make test` set everything up on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
JIRASIM_PORT ?= 8100

.PHONY: run demo serve test lint format install lock clean

# Exact versions (with hashes) from requirements.lock, then the project itself without resolving
# anything again; pyproject.toml keeps the ranges, `make lock` turns them into the lock.
$(VENV)/.installed: pyproject.toml requirements.lock
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found " + sys.version.split()[0] + "); set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet --require-hashes -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

install: $(VENV)/.installed

# Re-resolve requirements.lock from pyproject.toml's ranges (the runtime dependencies and the
# `test` extra, for every platform and Python >= 3.11), taking the newest versions they allow.
# Commit the result; the next `make install` installs it.
lock: install
	$(VENV)/bin/uv pip compile pyproject.toml --extra test --universal --python-version 3.11 \
		--generate-hashes --upgrade --custom-compile-command 'make lock' --quiet -o requirements.lock

# A local .env with a random SECRET_KEY and DEBUG on; never committed.
.env:
	@$(PYTHON) -c 'import secrets; print(f"SECRET_KEY={secrets.token_urlsafe(50)}\nDEBUG=true")' > .env
	@echo "Wrote .env for local use (DEBUG on, random SECRET_KEY)."

# The web server and one sync worker; Ctrl-C stops both.
run: install .env
	@mkdir -p var
	$(PY) manage.py migrate --no-input
	$(PY) manage.py ensure_admin
	@$(PY) manage.py jira_sync & worker=$$!; \
	trap 'trap - INT TERM EXIT; kill $$worker 2>/dev/null' INT TERM EXIT; \
	$(PY) manage.py runserver $(HOST):$(PORT)

# jirasim, the portal and a worker on their own database (var/demo/), with demo data; Ctrl-C stops all.
demo: install .env
	$(PY) manage.py demo --port $(PORT) --jirasim-port $(JIRASIM_PORT)

# Production-style serving: gunicorn (WEB_CONCURRENCY workers, default 2) with whitenoise for
# static files, and one sync worker; Ctrl-C stops both. Reads .env or the environment
# (docs/deploy.md).
serve: install
	@test -f .env || test -n "$$SECRET_KEY" || { echo "No .env and no SECRET_KEY in the environment: copy .env.example to .env and set at least SECRET_KEY (see docs/deploy.md)." >&2; exit 1; }
	@mkdir -p var
	$(PY) manage.py migrate --no-input
	$(PY) manage.py collectstatic --no-input --verbosity 0
	@$(PY) manage.py jira_sync & worker=$$!; \
	trap 'trap - INT TERM EXIT; kill $$worker 2>/dev/null' INT TERM EXIT; \
	$(VENV)/bin/gunicorn --config gunicorn.conf.py --bind $(HOST):$(PORT) portal.wsgi

test: install
	$(PY) -m pytest $(PYTEST_ARGS)

# mypy's Django plugin loads the settings, which refuse to load without a SECRET_KEY.
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	SECRET_KEY=$${SECRET_KEY:-mypy-only-reads-the-settings} $(VENV)/bin/mypy

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache .hypothesis
