"""`connect` is Connect plumbing and knows nothing of incidents: neither at import time nor at run
time. A project without the incidents app gets a descriptor with no actions, and one with it gets
the actions the incidents app registers in its `ready()`."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

from connect.descriptor import build_descriptor

ROOT = Path(__file__).resolve().parents[2]

CONNECT_ONLY = """
import json, sys
from django.conf import settings
settings.configure(
    SECRET_KEY="connect-only-check-0123456789abcdefghijklmnopqrstuvwxyz",
    INSTALLED_APPS=[
        "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
        "django.contrib.sessions", "django.contrib.messages", "rest_framework", "connect",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    ROOT_URLCONF="connect.urls",
    STATIC_URL="/static/",
    CONNECT_BASE_URL="https://ops.example.com",
    CONNECT_APP_KEY="com.example.ops", CONNECT_APP_NAME="Ops", CONNECT_APP_DESCRIPTION="Ops",
    CONNECT_VENDOR_NAME="Example", CONNECT_VENDOR_URL="https://example.com",
    CONNECT_DOCUMENTATION_URL="", CONNECT_MODULE_KEY="ops",
)
import django
django.setup()
import importlib, pkgutil, connect
for module in pkgutil.walk_packages(connect.__path__, "connect."):
    if ".migrations." not in module.name and ".management." not in module.name:
        importlib.import_module(module.name)
from connect.descriptor import build_descriptor
descriptor = build_descriptor()
print(json.dumps({
    "incidents_loaded": sorted(m for m in sys.modules if m.split(".")[0] == "incidents"),
    "actions": descriptor["modules"]["jiraOperationsInfoProvider"]["actions"],
}))
"""


def test_no_connect_module_imports_incidents():
    offenders = []
    for path in (ROOT / "connect").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [
                f"{path.relative_to(ROOT)}: {n}" for n in names if n.startswith("incidents")
            ]
    assert offenders == []


def test_connect_runs_without_the_incidents_app():
    result = subprocess.run(
        [sys.executable, "-c", CONNECT_ONLY],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"incidents_loaded": [], "actions": {}}


def test_the_incidents_app_registers_its_actions_with_the_descriptor():
    actions = build_descriptor()["modules"]["jiraOperationsInfoProvider"]["actions"]
    assert set(actions) >= {
        "fetchWorkspaces",
        "searchContainers",
        "onEntityAssociated",
        "onEntityDisassociated",
    }
