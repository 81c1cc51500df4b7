# The few commands everyone uses. `make run` and `make test` set everything up on first use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
JIRASIM_PORT ?= 8100
# Where `make run` keeps the admin login it creates the first time.
ADMIN_PASSWORD_FILE ?= var/admin-password.txt
# Atlassian's Forge manifest validator (@forge/manifest, pinned in its package-lock.json).
FORGE_LINT := tools/forge-lint

.PHONY: run demo serve test lint format install lock forge-lint clean

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

# The test of `manage.py forge_manifest` runs Atlassian's validator on what it renders. It needs
# Node.js 20+ and npm; without them the test is skipped, except under REQUIRE_FORGE_LINT=1 (CI).
forge-lint: $(FORGE_LINT)/node_modules/.installed

$(FORGE_LINT)/node_modules/.installed: $(FORGE_LINT)/package.json $(FORGE_LINT)/package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		echo "cd $(FORGE_LINT) && npm ci"; \
		cd $(FORGE_LINT) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	elif [ "$(REQUIRE_FORGE_LINT)" = 1 ]; then \
		echo "REQUIRE_FORGE_LINT=1 but npm is not installed (Node.js 20+ and npm are needed)." >&2; exit 1; \
	else \
		echo "Note: npm not found, so the Forge manifest test will be skipped (it needs Node.js 20+ and npm)."; \
	fi

# A local .env with a random SECRET_KEY and DEBUG on; never committed.
.env:
	@$(PYTHON) -c 'import secrets; print(f"SECRET_KEY={secrets.token_urlsafe(50)}\nDEBUG=true")' > .env
	@echo "Wrote .env for local use (DEBUG on, random SECRET_KEY)."

# The web server and one sync worker; Ctrl-C stops both. CONNECT_BASE_URL (the descriptor's
# baseUrl) is the address served, http://HOST:PORT, unless the environment or .env sets it.
# Django's development server, for local use (its "not for production" banner is left out:
# production is `make serve`).
run: install .env
	@mkdir -p var
	$(PY) manage.py migrate --no-input
	$(PY) manage.py ensure_admin --password-file $(ADMIN_PASSWORD_FILE)
	@CONNECT_BASE_URL=$$($(PY) -m portal.local_url $(HOST) $(PORT)) || exit 1; \
	export CONNECT_BASE_URL; echo "CONNECT_BASE_URL=$$CONNECT_BASE_URL"; \
	$(PY) manage.py jira_sync & worker=$$!; \
	trap 'trap - INT TERM EXIT; kill $$worker 2>/dev/null' INT TERM EXIT; \
	DJANGO_RUNSERVER_HIDE_WARNING=true $(PY) manage.py runserver $(HOST):$(PORT)

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

test: install forge-lint
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
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache .hypothesis $(FORGE_LINT)/node_modules
