import pytest
from django.core.management import call_command

from incidents.demo import INCIDENTS, REVIEWS, WORKSPACES
from incidents.models import (
    Container,
    Incident,
    IncidentAssociation,
    PostIncidentReview,
    Workspace,
    WorkspaceLink,
)
from incidents.sync.payloads import incident_to_jira, review_to_jira

from .factories import make_installation

pytestmark = pytest.mark.django_db


def snapshot() -> dict:
    return {
        model.__name__: sorted(model._default_manager.values_list(*fields))
        for model, fields in [
            (Workspace, ("external_id", "name")),
            (Container, ("external_id", "workspace__external_id")),
            (Incident, ("external_id", "update_sequence_number", "created_date")),
            (PostIncidentReview, ("external_id", "update_sequence_number")),
            (IncidentAssociation, ("incident__external_id", "value")),
            (WorkspaceLink, ("workspace__external_id", "installation__client_key")),
        ]
    }


def test_seed_demo_creates_the_described_data(capsys):
    call_command("seed_demo")
    assert Workspace.objects.count() == len(WORKSPACES)
    assert Container.objects.count() == sum(len(c) for _, c in WORKSPACES.values())
    assert Incident.objects.count() == len(INCIDENTS)
    assert PostIncidentReview.objects.count() == len(REVIEWS)
    assert "Demo data ready" in capsys.readouterr().out


def test_seed_demo_data_passes_every_rule():
    call_command("seed_demo")
    for incident in Incident.objects.for_jira():
        incident.full_clean()
        incident.full_clean_relations()
        assert incident_to_jira(incident)["affectedComponents"]
    for review in PostIncidentReview.objects.for_jira():
        review.full_clean()
        review.full_clean_relations()
        assert review_to_jira(review)["reviews"]


def test_running_seed_demo_twice_changes_nothing(capsys):
    call_command("seed_demo")
    first = snapshot()
    call_command("seed_demo")
    assert snapshot() == first
    assert "0 created, 0 updated" in capsys.readouterr().out.splitlines()[-1]


def test_seed_demo_repairs_edited_demo_rows_and_bumps_only_those():
    call_command("seed_demo")
    edited = Incident.objects.get(external_id="INC-2041")
    edited.summary = "changed by hand"
    edited.save()
    edited.affected_containers.clear()
    untouched = Incident.objects.get(external_id="INC-4502")
    call_command("seed_demo")
    edited_after = Incident.objects.get(pk=edited.pk)
    assert edited_after.summary != "changed by hand"
    assert edited_after.affected_containers.count() == 2
    assert edited_after.update_sequence_number > edited.update_sequence_number
    assert Incident.objects.get(pk=untouched.pk).update_sequence_number == (
        untouched.update_sequence_number
    )


def test_link_all_sites_links_every_workspace_to_active_sites_only():
    active, gone = make_installation(), make_installation(state="uninstalled")
    call_command("seed_demo", "--link-all-sites")
    call_command("seed_demo", "--link-all-sites")
    assert WorkspaceLink.objects.filter(installation=active).count() == len(WORKSPACES)
    assert not WorkspaceLink.objects.filter(installation=gone).exists()


def test_without_the_option_no_site_is_linked():
    make_installation()
    call_command("seed_demo")
    assert not WorkspaceLink.objects.exists()
