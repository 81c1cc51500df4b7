"""The Forge manifest (Connect on Forge): accepted by Atlassian's own validator, checked against
the Forge rules written out here, identical to the descriptor where they overlap, and refused
when Jira could not use it.

Atlassian's validator is `@forge/manifest` (the package behind `forge lint` and `forge deploy`),
installed by `make test` into tools/forge-lint from its package-lock.json. Without Node.js and
npm those tests are skipped, except under REQUIRE_FORGE_LINT=1 (set by .ci/run), where they fail.

The plain rules below come from Atlassian's manifest reference
(https://developer.atlassian.com/platform/forge/manifest-reference/), independently of
`connect/forge.py`.
"""

from __future__ import annotations

import copy
import io
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings
from django.urls import resolve

from connect.descriptor import build_descriptor
from connect.forge import (
    ForgeManifestError,
    build_forge_manifest,
    forge_scope,
    manifest_from_descriptor,
)

from .support import APP_KEY, BASE_URL

REPO = Path(__file__).resolve().parents[2]
APP_UUID = "b48115c6-8f4c-4bb6-9bbe-f20c25f26bcf"
APP_ID = f"ari:cloud:ecosystem::app/{APP_UUID}"

# --- The rules, from Atlassian's manifest reference --------------------------------------------

#: The `app.connect` object and the Connect remote, as the Forge schema states them.
MANIFEST_SCHEMA = {
    "type": "object",
    "required": ["app", "remotes", "connectModules", "permissions"],
    "properties": {
        "app": {
            "type": "object",
            "required": ["id", "runtime", "connect"],
            "properties": {
                "id": {"type": "string", "pattern": r"^ari:cloud:ecosystem::app/[0-9a-f-]{36}$"},
                "runtime": {
                    "type": "object",
                    "required": ["name"],
                    "properties": {"name": {"enum": ["nodejs22.x", "nodejs24.x"]}},
                },
                "connect": {
                    "type": "object",
                    "required": ["key"],
                    "properties": {
                        "key": {
                            "type": "string",
                            "minLength": 1,
                            "maxLength": 90,
                            "pattern": r"^[a-zA-Z0-9-._]+$",
                        },
                        "remote": {
                            "type": "string",
                            "maxLength": 23,
                            "pattern": r"^[a-zA-Z0-9_-]+$",
                        },
                        "authentication": {"enum": ["jwt"]},
                    },
                    "additionalProperties": False,
                },
            },
        },
        "remotes": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["key", "baseUrl"],
                "properties": {
                    "key": {"type": "string", "pattern": r"^[a-zA-Z0-9_-]+$"},
                    "baseUrl": {"type": "string", "pattern": r"^https://[^/?#\s]+(/[^?#\s]*)?$"},
                    "operations": {
                        "type": "array",
                        "items": {"enum": ["storage", "compute", "fetch", "other"]},
                    },
                    "storage": {
                        "type": "object",
                        "required": ["inScopeEUD"],
                        "properties": {"inScopeEUD": {"type": "boolean"}},
                        "additionalProperties": False,
                    },
                },
            },
        },
        "connectModules": {
            "type": "object",
            "propertyNames": {"pattern": r"^jira:[a-zA-Z]+$"},
            "additionalProperties": {
                "type": "array",
                "minItems": 1,
                "items": {"type": "object", "required": ["key"]},
            },
        },
        "permissions": {
            "type": "object",
            "required": ["scopes"],
            "properties": {
                "scopes": {
                    "type": "array",
                    "items": {"type": "string", "pattern": r"^[a-z-]+:connect-jira$"},
                }
            },
        },
    },
}

#: Connect modules Forge accepts in `connectModules` that this app could use.
ALLOWED_CONNECT_MODULES = {
    "jira:lifecycle",
    "jira:webhooks",
    "jira:jiraOperationsInfoProvider",
    "jira:jiraDevOpsComponentProvider",
    "jira:jiraSecurityInfoProvider",
    "jira:jiraDeploymentInfoProvider",
    "jira:jiraBuildInfoProvider",
    "jira:jiraDevelopmentTool",
    "jira:jiraFeatureFlagInfoProvider",
    "jira:jiraRemoteLinkInfoProvider",
    "jira:jiraDeploymentGating",
}


def lint_problems(manifest: dict) -> list[str]:
    """The Forge linter's rules for Connect on Forge, as plain checks."""
    problems = []
    connect = manifest.get("app", {}).get("connect", {})
    modules = manifest.get("connectModules")
    remotes = {remote.get("key"): remote for remote in manifest.get("remotes", [])}
    if modules and not connect.get("remote"):
        problems.append("missing app.connect.remote")
    if connect.get("remote") and connect["remote"] not in remotes:
        problems.append(f"no remote found with key {connect['remote']!r}")
    if "authentication" in connect and not modules:
        problems.append("missing connectModules")
    connect_remote = remotes.get(connect.get("remote"), {})
    if "configurable" in connect_remote or "${" in connect_remote.get("baseUrl", ""):
        problems.append("Connect remotes cannot be configurable")
    for remote in remotes.values():
        if "storage" in remote.get("operations", []) and "inScopeEUD" not in remote.get(
            "storage", {}
        ):
            problems.append(f"missing storage.inScopeEUD in remote {remote.get('key')}")
    for name, entries in (modules or {}).items():
        if name.endswith(":lifecycle") and len(entries) != 1:
            problems.append(f"{name} must have exactly one element")
        if name not in ALLOWED_CONNECT_MODULES:
            problems.append(f"{name} is not an allowed Connect module")
    if manifest.get("modules") == {}:
        problems.append("empty modules")
    return problems


FORGE_SETTINGS = {
    "CONNECT_BASE_URL": BASE_URL,
    "CONNECT_APP_KEY": APP_KEY,
    "ALLOWED_HOSTS": ["ops.example.com"],
    "FORGE_APP_ID": APP_ID,
    "CONNECT_INSTALL_KEYS_URL": "https://connect-install-keys.atlassian.com",
}


@pytest.fixture(autouse=True)
def forge_settings(settings):
    for name, value in FORGE_SETTINGS.items():
        setattr(settings, name, value)
    return settings


# --- What the manifest holds ------------------------------------------------------------------


def test_manifest_is_valid_against_the_forge_rules():
    manifest = build_forge_manifest().data
    jsonschema.validate(manifest, MANIFEST_SCHEMA)
    assert lint_problems(manifest) == []


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda m: m["connectModules"]["jira:lifecycle"].append({"key": "x"}), "exactly one"),
        (lambda m: m["app"]["connect"].pop("remote"), "missing app.connect.remote"),
        (lambda m: m["remotes"][0].update(key="other"), "no remote found"),
        (lambda m: m["remotes"][0].update(configurable=True), "cannot be configurable"),
        (lambda m: m.update(connectModules={}), "missing connectModules"),
        (lambda m: m["connectModules"].update({"jira:jiraDesignInfoProvider": [{}]}), "allowed"),
        (lambda m: m["remotes"][0].pop("storage"), "missing storage.inScopeEUD"),
    ],
)
def test_the_rules_catch_a_broken_manifest(mutate, problem):
    manifest = copy.deepcopy(build_forge_manifest().data)
    mutate(manifest)
    assert any(problem in p for p in lint_problems(manifest))


@pytest.mark.parametrize(
    "key", ["", "bad key", "a" * 91, "ключ"], ids=["empty", "space", "too-long", "non-ascii"]
)
def test_the_schema_refuses_a_key_forge_refuses(key):
    manifest = copy.deepcopy(build_forge_manifest().data)
    manifest["app"]["connect"]["key"] = key
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(manifest, MANIFEST_SCHEMA)


def test_app_connect_uses_the_descriptor_key_and_jwt():
    assert build_forge_manifest().data["app"]["connect"] == {
        "key": APP_KEY,
        "remote": "connect",
        "authentication": "jwt",
    }


def test_the_connect_remote_exists_and_is_the_portal_base_url():
    manifest = build_forge_manifest().data
    remote_key = manifest["app"]["connect"]["remote"]
    (remote,) = [r for r in manifest["remotes"] if r["key"] == remote_key]
    assert remote["baseUrl"] == BASE_URL == build_descriptor()["baseUrl"]
    assert len(remote_key) <= 23 and re.fullmatch(r"[a-zA-Z0-9_-]+", remote_key)
    assert "configurable" not in remote


def test_the_operations_module_is_the_descriptor_module_unchanged():
    manifest = build_forge_manifest().data
    descriptor_module = build_descriptor()["modules"]["jiraOperationsInfoProvider"]
    assert manifest["connectModules"]["jira:jiraOperationsInfoProvider"] == [descriptor_module]


def test_the_operations_module_is_the_very_object_of_the_descriptor():
    descriptor = build_descriptor()
    manifest = manifest_from_descriptor(descriptor, app_id=APP_ID)
    (module,) = manifest["connectModules"]["jira:jiraOperationsInfoProvider"]
    assert module is descriptor["modules"]["jiraOperationsInfoProvider"]


def test_one_lifecycle_entry_with_the_descriptor_paths():
    manifest = build_forge_manifest().data
    (lifecycle,) = manifest["connectModules"]["jira:lifecycle"]
    paths = {event: path for event, path in lifecycle.items() if event != "key"}
    assert paths == build_descriptor()["lifecycle"]
    assert resolve(paths["installed"]).url_name == "connect-installed"
    assert resolve(paths["uninstalled"]).url_name == "connect-uninstalled"


def test_only_the_descriptor_modules_and_the_lifecycle_are_declared():
    manifest = build_forge_manifest().data
    assert set(manifest["connectModules"]) == {"jira:lifecycle", "jira:jiraOperationsInfoProvider"}
    assert "modules" not in manifest


def test_scopes_are_the_connect_scopes_in_forge_form():
    assert build_forge_manifest().data["permissions"]["scopes"] == [
        "read:connect-jira",
        "write:connect-jira",
        "delete:connect-jira",
    ]
    assert forge_scope("ACT_AS_USER") == "act-as-user:connect-jira"


def test_values_follow_the_settings(settings):
    settings.CONNECT_APP_KEY = "com.acme.ops-portal.prod"
    settings.CONNECT_MODULE_KEY = "acme-ops"
    settings.CONNECT_BASE_URL = "https://ops.acme.test/portal"
    settings.ALLOWED_HOSTS = [".acme.test"]
    manifest = build_forge_manifest().data
    assert manifest["app"]["connect"]["key"] == "com.acme.ops-portal.prod"
    assert manifest["remotes"][0]["baseUrl"] == "https://ops.acme.test/portal"
    (module,) = manifest["connectModules"]["jira:jiraOperationsInfoProvider"]
    assert module["key"] == "acme-ops"
    assert module == build_descriptor()["modules"]["jiraOperationsInfoProvider"]
    # Lifecycle paths are relative to the remote, as they are to the descriptor's baseUrl.
    assert manifest["connectModules"]["jira:lifecycle"][0]["installed"] == "/connect/installed"


def test_the_remote_says_it_stores_end_user_data():
    """The portal keeps Jira account ids and each site's data in its own database."""
    (remote,) = build_forge_manifest().data["remotes"]
    assert remote["operations"] == ["storage", "compute"]
    assert remote["storage"] == {"inScopeEUD": True}


# --- Atlassian's validator (@forge/manifest) ---------------------------------------------------

FORGE_LINT = REPO / "tools" / "forge-lint"


def rendered(*args: str, **overrides) -> str:
    """What `manage.py forge_manifest` prints, under the module's settings and `overrides`."""
    with override_settings(**{**FORGE_SETTINGS, **overrides}):
        out = io.StringIO()
        call_command("forge_manifest", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def broken(mutate: Callable[[dict], object]) -> str:
    with override_settings(**FORGE_SETTINGS):
        manifest = copy.deepcopy(build_forge_manifest().data)
    mutate(manifest)
    return yaml.safe_dump(manifest, sort_keys=False)


#: Manifests the validator must accept.
ACCEPTED: dict[str, Callable[[], str]] = {
    "registered": lambda: rendered(),
    "unregistered": lambda: rendered("--unregistered", FORGE_APP_ID=""),
    "base-url-with-a-path": lambda: rendered(CONNECT_BASE_URL="https://ops.example.com/portal"),
}
#: Manifests it must refuse, each with the refusal Atlassian's validator gives.
REFUSED: dict[str, tuple[Callable[[], str], str]] = {
    "storage-without-inScopeEUD": (
        lambda: broken(lambda m: m["remotes"][0].pop("storage", None)),
        "missing storage.inScopeEUD in remote connect. storage.inScopeEUD is required if storage "
        "is present in operations.",
    ),
    "configurable-remote": (
        lambda: broken(
            lambda m: m["remotes"][0].update(configurable={"name": "n", "description": "d"})
        ),
        "Connect remotes cannot be configurable",
    ),
    "unknown-remote": (
        lambda: broken(lambda m: m["app"]["connect"].update(remote="other")),
        "no remote found with key 'other' matching app.connect.remote value.",
    ),
    "two-lifecycles": (
        lambda: broken(lambda m: m["connectModules"]["jira:lifecycle"].append({"key": "again"})),
        "'jira:lifecycle' should contain only one element",
    ),
    "unknown-module": (
        lambda: broken(
            lambda m: m["connectModules"].update({"jira:jiraDesignInfoProvider": [{"key": "d"}]})
        ),
        "invalid value 'jira:jiraDesignInfoProvider' in connectModules",
    ),
}


def node_major_version(node: str) -> int | None:
    result = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30)
    match = re.match(r"v(\d+)\.", result.stdout)
    return int(match.group(1)) if match else None


@pytest.fixture(scope="module")
def forge_verdicts(tmp_path_factory) -> dict[str, tuple[bool, list[str]]]:
    """Every case above through `tools/forge-lint/lint.js` in one node run (the validator takes
    seconds to start): case → (accepted, error messages)."""
    node = shutil.which("node")
    version = node_major_version(node) if node else None
    installed = (FORGE_LINT / "node_modules" / "@forge" / "manifest" / "package.json").is_file()
    if not (version and version >= 20 and installed):
        reason = (
            "Atlassian's manifest validator needs Node.js 20+ and `make forge-lint` (npm ci in "
            f"tools/forge-lint); found node={node} (major version {version}), "
            f"@forge/manifest installed={installed}"
        )
        if os.environ.get("REQUIRE_FORGE_LINT") == "1":
            pytest.fail(f"REQUIRE_FORGE_LINT=1 but {reason}")
        pytest.skip(reason)
    assert node is not None
    folder = tmp_path_factory.mktemp("forge-manifests")
    texts = {case: render() for case, render in ACCEPTED.items()}
    texts |= {case: render() for case, (render, _) in REFUSED.items()}
    paths = {case: folder / f"{case}.yml" for case in texts}
    for case, path in paths.items():
        path.write_text(texts[case])
    result = subprocess.run(
        [node, str(FORGE_LINT / "lint.js"), *map(str, paths.values())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    return {
        case: (report[str(path)]["success"], [e["message"] for e in report[str(path)]["errors"]])
        for case, path in paths.items()
    }


def test_the_pinned_validator_is_the_one_forge_13_7_uses():
    lock = json.loads((FORGE_LINT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/@forge/manifest"]["version"] == "13.7.0"


@pytest.mark.parametrize("case", ACCEPTED)
def test_atlassians_validator_accepts_the_rendered_manifest(forge_verdicts, case):
    assert forge_verdicts[case] == (True, [])


@pytest.mark.parametrize("case", REFUSED)
def test_atlassians_validator_refuses_a_broken_manifest(forge_verdicts, case):
    accepted, errors = forge_verdicts[case]
    assert not accepted
    assert REFUSED[case][1] in errors


# --- The app id ---------------------------------------------------------------------------------


def test_app_id_comes_from_the_setting():
    assert build_forge_manifest().data["app"]["id"] == APP_ID


def test_a_bare_uuid_or_upper_case_app_id_is_normalised():
    assert build_forge_manifest(app_id=APP_UUID.upper()).data["app"]["id"] == APP_ID


def test_unregistered_writes_atlassians_placeholder(settings):
    settings.FORGE_APP_ID = ""
    manifest = build_forge_manifest(unregistered=True)
    assert manifest.unregistered
    assert manifest.data["app"]["id"] == "ari:cloud:ecosystem::app/invalid-run-forge-register"


# --- Refusals -----------------------------------------------------------------------------------


def refusal(**kwargs) -> str:
    with pytest.raises(ForgeManifestError) as excinfo:
        build_forge_manifest(**kwargs)
    return str(excinfo.value)


def test_an_http_base_url_is_refused(settings):
    settings.CONNECT_BASE_URL = "http://ops.example.com"
    assert "CONNECT_BASE_URL 'http://ops.example.com' must start with https://" in refusal()


@pytest.mark.parametrize(
    "host", ["localhost", "127.0.0.1", "10.1.2.3", "192.168.0.5", "[::1]", "ops", "ops.local"]
)
def test_a_base_url_jira_cannot_reach_is_refused(settings, host):
    settings.CONNECT_BASE_URL = f"https://{host}"
    settings.ALLOWED_HOSTS = ["*"]
    assert "is not a public host name" in refusal()


def test_a_base_url_outside_allowed_hosts_is_refused(settings):
    settings.ALLOWED_HOSTS = ["other.example.com"]
    assert "'ops.example.com' is not in ALLOWED_HOSTS" in refusal()


@pytest.mark.parametrize("key", ["bad key", "", "ops/portal", "ops:portal"])
def test_an_invalid_key_is_refused(settings, key):
    settings.CONNECT_APP_KEY = key
    assert "CONNECT_APP_KEY" in refusal()


def test_a_key_longer_than_forge_allows_is_refused(settings):
    settings.CONNECT_APP_KEY = "k" * 91
    assert "at most 90 characters (it has 91)" in refusal()


def test_a_key_longer_than_the_descriptor_allows_is_refused(settings):
    settings.CONNECT_APP_KEY = "k" * 81
    assert "CONNECT_APP_KEY: " in refusal()


def test_a_missing_app_id_is_refused_with_how_to_get_one(settings):
    settings.FORGE_APP_ID = ""
    message = refusal()
    assert "no Forge app id" in message and "forge register" in message


@pytest.mark.parametrize("app_id", ["1234", "ari:cloud:ecosystem::app/not-a-uuid", APP_ID + "x"])
def test_a_malformed_app_id_is_refused(app_id):
    assert "is not a Forge app id" in refusal(app_id=app_id)


def test_unregistered_and_an_app_id_together_are_refused():
    assert "not both" in refusal(unregistered=True)


def test_an_http_install_keys_url_is_refused(settings):
    settings.CONNECT_INSTALL_KEYS_URL = "http://127.0.0.1:8100/_sim/install-keys"
    assert "CONNECT_INSTALL_KEYS_URL" in refusal()


def test_hashed_static_files_without_collectstatic_are_refused(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    assert "run `manage.py collectstatic` first" in refusal()


def test_settings_the_descriptor_cannot_use_are_refused(settings):
    settings.CONNECT_MODULE_KEY = "bad key!"
    assert "CONNECT_MODULE_KEY" in refusal()


def test_every_reason_is_given_at_once(settings):
    settings.CONNECT_BASE_URL = "http://ops.example.com"
    settings.CONNECT_APP_KEY = "bad key"
    settings.FORGE_APP_ID = ""
    with pytest.raises(ForgeManifestError) as excinfo:
        build_forge_manifest()
    assert len(excinfo.value.reasons) >= 3


# --- YAML and the command -----------------------------------------------------------------------


def test_yaml_round_trips_without_anchors():
    manifest = build_forge_manifest()
    text = manifest.to_yaml()
    assert "&id" not in text and "*id" not in text
    assert yaml.safe_load(text) == manifest.data


def test_command_prints_yaml_on_stdout(capsys):
    call_command("forge_manifest")
    captured = capsys.readouterr()
    assert yaml.safe_load(captured.out) == build_forge_manifest().data
    assert "forge deploy -e production" in captured.err
    assert "the site appears in the admin under Atlassian Connect > Jira sites." in captured.err


def test_command_app_id_option_wins_over_the_setting(capsys):
    other = "ari:cloud:ecosystem::app/00000000-0000-4000-8000-000000000001"
    call_command("forge_manifest", "--app-id", other)
    assert yaml.safe_load(capsys.readouterr().out)["app"]["id"] == other


def test_command_writes_the_output_file(tmp_path, capsys):
    path = tmp_path / "manifest.yml"
    call_command("forge_manifest", "--output", str(path))
    assert yaml.safe_load(path.read_text()) == build_forge_manifest().data
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"Wrote {path}." in captured.err


def test_command_unregistered_says_to_run_forge_register(settings, capsys):
    settings.FORGE_APP_ID = ""
    call_command("forge_manifest", "--unregistered")
    captured = capsys.readouterr()
    assert "invalid-run-forge-register" in captured.out
    assert "forge register" in captured.err


def test_command_refuses_with_the_reason_and_writes_nothing(settings, tmp_path):
    settings.CONNECT_BASE_URL = "http://ops.example.com"
    path = tmp_path / "manifest.yml"
    with pytest.raises(CommandError, match="must start with https://"):
        call_command("forge_manifest", "--output", str(path))
    assert not path.exists()


def test_command_reports_an_unwritable_output(tmp_path):
    with pytest.raises(CommandError, match="Cannot write"):
        call_command("forge_manifest", "--output", str(tmp_path / "missing" / "manifest.yml"))


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {
        **os.environ,
        "SECRET_KEY": "x",
        "CONNECT_BASE_URL": "https://ops.example.com",
        "ALLOWED_HOSTS": "ops.example.com",
        "CONNECT_INSTALL_KEYS_URL": "https://connect-install-keys.atlassian.com",
        "FORGE_APP_ID": APP_ID,
        # Static files as runserver serves them, so no collectstatic is needed.
        "STATIC_FILES_MANIFEST": "false",
        **env,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "forge_manifest", *args],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_manage_py_output_redirected_to_a_file_is_the_manifest_alone():
    result = run_manage()
    assert result.returncode == 0, result.stderr
    manifest = yaml.safe_load(result.stdout)
    assert manifest["app"]["id"] == APP_ID
    assert manifest["remotes"][0]["baseUrl"] == "https://ops.example.com"
    assert lint_problems(manifest) == []


def test_manage_py_refuses_an_http_base_url_with_exit_status_1():
    result = run_manage(CONNECT_BASE_URL="http://ops.example.com")
    assert result.returncode == 1
    assert result.stdout == ""
    assert "must start with https://" in result.stderr
