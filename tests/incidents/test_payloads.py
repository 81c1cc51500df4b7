"""Whatever the models accept, the payloads satisfy the spec's Incident and Review schemas."""

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft4Validator, FormatChecker

from incidents.models import (
    Container,
    Incident,
    IncidentAssociation,
    PostIncidentReview,
    ReviewAssociation,
    Workspace,
)
from incidents.sync.payloads import (
    container_to_jira,
    current_payloads,
    incident_to_jira,
    review_to_jira,
    rfc3339,
    workspace_to_jira,
)

from . import strategies as s
from .factories import make_container, make_incident, make_review

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]
SPEC = json.loads((REPO / "jirasim" / "spec" / "jira-operations-openapi.json").read_text())

RFC3339 = re.compile(r"\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)\Z")
URI = re.compile(r"\A[A-Za-z][A-Za-z0-9+.-]*:[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*\Z")
formats = FormatChecker(formats=())


@formats.checks("date-time")
def _is_rfc3339(value) -> bool:
    return bool(RFC3339.match(value)) and bool(datetime.fromisoformat(value))


@formats.checks("uri")
def _is_uri(value) -> bool:
    return bool(URI.match(value))


def validator(name: str) -> Draft4Validator:
    """The spec's schema, with the `type: object` its severity forgets (so null is refused)."""
    schema = json.loads(json.dumps(SPEC["components"]["schemas"][name]))
    if "severity" in schema["properties"]:
        schema["properties"]["severity"]["type"] = "object"
    return Draft4Validator(schema, format_checker=formats)


INCIDENT_SCHEMA = validator("Incident")
REVIEW_SCHEMA = validator("Review")
HYPOTHESIS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


def assert_valid(schema: Draft4Validator, payload: dict) -> None:
    errors = [f"{list(e.absolute_path)}: {e.message[:200]}" for e in schema.iter_errors(payload)]
    assert not errors, errors


class Rollback(Exception):
    """Ends one generated example, undoing its rows."""


def in_rollback(build):
    """Run `build()` in a transaction that is always rolled back (one per example)."""
    try:
        with transaction.atomic():
            build()
            raise Rollback
    except Rollback:
        pass


def test_rfc3339_uses_utc_with_milliseconds():
    moment = datetime(2018, 1, 20, 23, 27, 25, 123456, tzinfo=UTC)
    assert rfc3339(moment) == "2018-01-20T23:27:25.123Z"


def test_minimal_incident_payload_has_exactly_the_required_keys():
    incident = make_incident(severity="")
    payload = incident_to_jira(Incident.objects.for_jira().get(pk=incident.pk))
    assert set(payload) == set(SPEC["components"]["schemas"]["Incident"]["required"])
    assert_valid(INCIDENT_SCHEMA, payload)


def test_incident_payload_carries_fields_severity_and_grouped_associations():
    incident = make_incident(severity="P1", status="resolved", description="**x**")
    IncidentAssociation.objects.create(incident=incident, value="OPS-2")
    IncidentAssociation.objects.create(incident=incident, value="OPS-1")
    IncidentAssociation.objects.create(
        incident=incident, association_type="serviceIdOrKeys", value="svc"
    )
    incident.refresh_from_db()
    payload = incident_to_jira(Incident.objects.for_jira().get(pk=incident.pk))
    assert payload["severity"] == {"level": "P1"}
    assert payload["status"] == "resolved"
    assert payload["description"] == "**x**"
    assert payload["updateSequenceNumber"] == incident.update_sequence_number
    assert payload["affectedComponents"] == [
        c.external_id for c in incident.affected_containers.all()
    ]
    assert payload["associations"] == [
        {"associationType": "issueIdOrKeys", "values": ["OPS-1", "OPS-2"]},
        {"associationType": "serviceIdOrKeys", "values": ["svc"]},
    ]
    assert_valid(INCIDENT_SCHEMA, payload)


def test_review_payload_lists_reviewed_incident_ids():
    review = make_review()
    review.incidents.add(make_incident(workspace=review.workspace, external_id="aaa-first"))
    payload = review_to_jira(PostIncidentReview.objects.for_jira().get(pk=review.pk))
    assert payload["reviews"][0] == "aaa-first" and len(payload["reviews"]) == 2
    assert "associations" not in payload
    assert_valid(REVIEW_SCHEMA, payload)


def test_payloads_of_many_incidents_take_a_constant_number_of_queries(django_assert_num_queries):
    for _ in range(5):
        make_incident()
    with django_assert_num_queries(3):
        payloads = [incident_to_jira(i) for i in Incident.objects.for_jira()]
    assert len(payloads) == 5


def test_the_relays_payloads_from_plain_values_equal_the_instances_payloads(
    django_assert_num_queries,
):
    incidents = [make_incident(severity=severity) for severity in ("P1", "", "unknown")]
    IncidentAssociation.objects.create(incident=incidents[0], value="OPS-7")
    review = make_review(incidents=incidents[:1])
    review.incidents.add(make_incident(workspace=review.workspace))
    ReviewAssociation.objects.create(review=review, association_type="serviceIdOrKeys", value="s")
    ids = [i.external_id for i in Incident.objects.all()]
    with django_assert_num_queries(3):
        current = current_payloads(Incident, [*ids, "not-there"])
    assert set(current) == set(ids)
    for incident in Incident.objects.for_jira().select_related("workspace"):
        row = current[incident.external_id]
        assert row.payload == incident_to_jira(incident)
        assert (row.workspace_pk, row.workspace_id) == (
            incident.workspace_id,
            incident.workspace.external_id,
        )
    reviews = current_payloads(PostIncidentReview, [review.external_id])
    expected = review_to_jira(PostIncidentReview.objects.for_jira().get(pk=review.pk))
    assert reviews[review.external_id].payload == expected
    assert_valid(REVIEW_SCHEMA, expected)


def test_to_jira_methods_use_the_same_serialisation():
    review = make_review()
    incident = review.incidents.get()
    assert incident.to_jira() == incident_to_jira(incident)
    assert review.to_jira() == review_to_jira(review)


def test_workspace_and_container_payloads_match_the_action_responses():
    container = make_container(avatar_url="https://ops.example.com/a.png")
    assert workspace_to_jira(container.workspace) == {
        "id": container.workspace.external_id,
        "name": container.workspace.name,
        "url": container.workspace.url,
    }
    payload = container_to_jira(container)
    assert payload["avatarUrl"] == "https://ops.example.com/a.png"
    assert RFC3339.match(payload["lastUpdatedDate"])


@HYPOTHESIS
@given(
    incident_id=s.safe_ids,
    container_ids=st.lists(s.container_ids, min_size=1, max_size=100, unique=True),
    summary=s.summaries,
    description=s.descriptions,
    url=s.urls,
    severity=s.severities,
    status=s.incident_statuses,
    created=s.moments,
    associations=s.associations,
)
def test_generated_incidents_are_valid_models_and_valid_jira_payloads(
    incident_id, container_ids, summary, description, url, severity, status, created, associations
):
    def build():
        workspace = Workspace.objects.create(
            external_id="ws", name="W", url="https://ops.example.com"
        )
        containers = Container.objects.bulk_create(
            Container(workspace=workspace, external_id=cid, name=cid[:255], url=url)
            for cid in container_ids
        )
        incident = Incident(
            external_id=incident_id,
            workspace=workspace,
            summary=summary,
            description=description,
            url=url,
            severity=severity,
            status=status,
            created_date=created,
        )
        incident.full_clean()
        incident.save()
        incident.affected_containers.set(containers)
        IncidentAssociation.objects.bulk_create(
            IncidentAssociation(incident=incident, association_type=kind, value=value)
            for kind, value in associations
        )
        for container in containers:
            container.full_clean()
        incident.full_clean_relations()

        payload = incident_to_jira(Incident.objects.for_jira().get(pk=incident.pk))
        assert_valid(INCIDENT_SCHEMA, payload)
        assert payload["id"] == incident_id
        assert payload["summary"] == summary and payload["description"] == description
        assert sorted(payload["affectedComponents"]) == sorted(container_ids)
        assert ("severity" in payload) == bool(severity)
        assert sum(len(a["values"]) for a in payload.get("associations", [])) == len(associations)

    in_rollback(build)


@HYPOTHESIS
@given(
    review_id=s.safe_ids,
    incident_ids=st.lists(s.safe_ids, min_size=1, max_size=100, unique=True),
    summary=s.summaries,
    description=s.descriptions,
    url=s.urls,
    status=s.review_statuses,
    created=s.moments,
    associations=s.associations,
)
def test_generated_reviews_are_valid_models_and_valid_jira_payloads(
    review_id, incident_ids, summary, description, url, status, created, associations
):
    def build():
        workspace = Workspace.objects.create(
            external_id="ws", name="W", url="https://ops.example.com"
        )
        incidents = Incident.objects.bulk_create(
            Incident(external_id=iid, workspace=workspace, summary="s", url=url)
            for iid in incident_ids
        )
        review = PostIncidentReview(
            external_id=review_id,
            workspace=workspace,
            summary=summary,
            description=description,
            url=url,
            status=status,
            created_date=created,
        )
        review.full_clean()
        review.save()
        review.incidents.set(incidents)
        ReviewAssociation.objects.bulk_create(
            ReviewAssociation(review=review, association_type=kind, value=value)
            for kind, value in associations
        )
        review.full_clean_relations()

        payload = review_to_jira(PostIncidentReview.objects.for_jira().get(pk=review.pk))
        assert_valid(REVIEW_SCHEMA, payload)
        assert sorted(payload["reviews"]) == sorted(incident_ids)
        assert payload["createdDate"] == rfc3339(created)

    in_rollback(build)


def over(limit: int):
    """Unicode text longer than `limit` by 1 to 50 characters."""
    return st.builds(
        lambda head, fill, extra: (head + fill * limit)[:limit] + fill * extra,
        st.text(s.characters, max_size=30),
        s.characters,
        st.integers(1, 50),
    )


@HYPOTHESIS
@given(summary=over(255), description=over(5000), url_tail=over(2000))
def test_generated_over_limit_texts_are_refused_by_the_model(summary, description, url_tail):
    incident = Incident(
        external_id="i",
        workspace=Workspace(pk=1),
        summary=summary,
        description=description,
        url=("https://ops.example.com/" + "a" * 2000)[:2000] + "b" * (len(url_tail) - 2000),
    )
    with pytest.raises(ValidationError) as caught:
        incident.clean_fields(exclude=["workspace"])
    errors = caught.value.message_dict
    assert set(errors) == {"summary", "description", "url"}
    assert f"(it has {len(summary)})" in errors["summary"][0]
    assert f"(it has {len(description)})" in errors["description"][0]


def test_the_relays_timestamps_are_truncated_to_milliseconds_like_the_instances():
    """The relay formats timestamps in the database on PostgreSQL: the last microsecond of a
    day must not round into the next one."""
    from datetime import UTC, datetime

    incident = make_incident()
    Incident.objects.filter(pk=incident.pk).update(
        created_date=datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        last_updated=datetime(2027, 1, 1, 0, 0, 0, 1500, tzinfo=UTC),
    )
    payload = current_payloads(Incident, [incident.external_id])[incident.external_id].payload
    assert payload["createdDate"] == "2026-12-31T23:59:59.999Z"
    assert payload["lastUpdated"] == "2027-01-01T00:00:00.001Z"
    assert payload == incident_to_jira(Incident.objects.for_jira().get(pk=incident.pk))
