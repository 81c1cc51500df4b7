"""`create_integration` prints the token alone on the last line; `revoke_integration` ends it."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from incidents.models import Integration

from .conftest import TokenClient


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_integration_prints_a_working_token_last(client, workspace):
    output = run(
        "create_integration", "--workspace", "payments", "--name", "prom", "--kind", "alertmanager"
    )
    token = output.rstrip("\n").splitlines()[-1]
    assert token == token.strip() and " " not in token and len(token) == 43
    integration = Integration.objects.get(workspace=workspace, name="prom")
    assert integration.kind == "alertmanager"
    assert integration.token_matches(token)
    assert "receivers:" in output  # the Alertmanager snippet for this kind
    assert TokenClient(client, token).get("/api/v1/incidents/").status_code == 200


def test_revoke_integration_makes_its_token_401(client, workspace):
    token = run("create_integration", "--workspace", "payments", "--name", "ci").splitlines()[-1]
    assert "Revoked" in run("revoke_integration", "--workspace", "payments", "--name", "ci")
    assert TokenClient(client, token).get("/api/v1/incidents/").status_code == 401
    assert "already revoked" in run("revoke_integration", "--workspace", "payments", "--name", "ci")


def test_create_integration_refuses_an_unknown_workspace(db):
    with pytest.raises(CommandError, match="No workspace with id 'nope'"):
        run("create_integration", "--workspace", "nope", "--name", "x")


def test_create_integration_refuses_a_taken_name(workspace):
    run("create_integration", "--workspace", "payments", "--name", "x")
    with pytest.raises(CommandError, match="already has an integration named 'x'"):
        run("create_integration", "--workspace", "payments", "--name", "x")
    assert Integration.objects.count() == 1


def test_revoke_integration_refuses_an_unknown_name(workspace):
    with pytest.raises(CommandError, match="No integration 'x' in workspace 'payments'"):
        run("revoke_integration", "--workspace", "payments", "--name", "x")


def test_prune_deliveries_deletes_only_old_records(api, containers, integration):
    from datetime import timedelta

    from django.utils import timezone

    from incidents.models import Delivery, IdempotencyKey, Incident

    from .conftest import body

    api.post("/api/v1/hooks/alertmanager/", body("alertmanager_firing"))
    api.post("/api/v1/hooks/alertmanager/", body("alertmanager_firing"))
    api.post("/api/v1/incidents/", {"summary": "x"}, headers={"Idempotency-Key": "old"})
    old = Delivery.objects.order_by("pk")[0]
    Delivery.objects.filter(pk=old.pk).update(received_at=timezone.now() - timedelta(days=31))
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(days=31))
    output = run("prune_deliveries", "--days", "30")
    assert "Deleted 1 delivery(ies) and 1 idempotency key(s)" in output
    assert list(Delivery.objects.all()) == [Delivery.objects.exclude(pk=old.pk).get()]
    assert Incident.objects.count() == 2  # incidents stay


def test_prune_deliveries_refuses_zero_days(db):
    with pytest.raises(CommandError, match="--days must be at least 1"):
        run("prune_deliveries", "--days", "0")
