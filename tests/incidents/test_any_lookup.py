"""`field__any=[…]` answers what `field__in=[…]` answers, with one parameter on PostgreSQL."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from incidents.models import Incident, Workspace
from tests.incidents.factories import make_incident, make_workspace

pytestmark = pytest.mark.django_db


def _ids(queryset) -> list[int]:
    return sorted(queryset.values_list("pk", flat=True))


def test_any_matches_what_in_matches_for_ids_strings_and_foreign_keys():
    workspace, other = make_workspace(), make_workspace()
    incidents = [make_incident(workspace=workspace) for _ in range(3)]
    make_incident(workspace=other)
    pks = [incidents[0].pk, incidents[2].pk, incidents[0].pk, 10**12]
    external_ids = [incidents[1].external_id, "absent"]
    assert _ids(Incident.objects.filter(pk__any=pks)) == _ids(Incident.objects.filter(pk__in=pks))
    assert _ids(Incident.objects.filter(external_id__any=external_ids)) == [incidents[1].pk]
    assert _ids(Incident.objects.filter(workspace_id__any={workspace.pk})) == _ids(
        Incident.objects.filter(workspace=workspace)
    )
    assert _ids(Incident.objects.filter(workspace__any=[other])) == _ids(
        Incident.objects.filter(workspace=other)
    )


def test_any_of_nothing_matches_nothing_without_a_query():
    make_incident()
    with CaptureQueriesContext(connection) as queries:
        assert list(Incident.objects.filter(pk__any=[])) == []
        assert list(Incident.objects.filter(pk__any=[None])) == []
    assert len(queries) == 0


def test_any_in_a_subquery_and_an_update():
    workspace = make_workspace()
    incidents = [make_incident(workspace=workspace) for _ in range(2)]
    updated = Incident.objects.filter(pk__any=[incidents[0].pk]).update(summary="changed")
    assert updated == 1
    inner = Workspace.objects.filter(pk__any=[workspace.pk]).values("pk")
    assert _ids(Incident.objects.filter(workspace_id__in=inner)) == _ids(Incident.objects.all())
    assert Incident.objects.get(pk=incidents[0].pk).summary == "changed"


@pytest.mark.postgres
def test_any_sends_one_array_parameter_on_postgresql():
    """A thousand ids are one placeholder: the statement's text does not grow with them."""
    make_incident()
    with CaptureQueriesContext(connection) as queries:
        list(Incident.objects.filter(pk__any=list(range(1, 1001))).values_list("pk"))
        list(Incident.objects.filter(pk__any=[1, 2]).values_list("pk"))
    few, many = sorted(queries.captured_queries, key=lambda q: len(q["sql"]))
    assert "= ANY(" in many["sql"] and " IN (" not in many["sql"]
    # The text differs only in the rendered array literal, not in placeholders.
    assert many["sql"].split("ANY(")[0] == few["sql"].split("ANY(")[0]
