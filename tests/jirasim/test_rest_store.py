"""What the simulated Jira stores: last-writer-wins, deletes, workspaces, per-app isolation."""

import pytest

from tests.jirasim.builders import API, install, make_descriptor, make_incident, make_review

BULK = f"{API}/bulk"
WORKSPACES = f"{API}/linkedWorkspaces"


def submit(app, *incidents, properties=None, reviews=()):
    body = {}
    if incidents:
        body["incidents"] = list(incidents)
    if reviews:
        body["reviews"] = list(reviews)
    if properties is not None:
        body["properties"] = properties
    response = app.post(BULK, json=body)
    assert response.status_code == 202, response.text
    return response.json()


def test_get_returns_exactly_what_was_stored(sim, app):
    incident = make_incident()
    submit(app, incident)
    response = app.get(f"{API}/incidents/INC-1")
    assert response.status_code == 200
    assert response.json() == incident


def test_get_of_an_unknown_incident_or_review_is_404(sim, app):
    assert app.get(f"{API}/incidents/nope").status_code == 404
    assert app.get(f"{API}/post-incident-reviews/nope").status_code == 404


def test_higher_sequence_number_replaces(sim, app):
    submit(app, make_incident(updateSequenceNumber=1))
    submit(app, make_incident(updateSequenceNumber=2, status="resolved"))
    assert sim.incidents()["INC-1"]["status"] == "resolved"


@pytest.mark.parametrize("stale", [1, 5])
def test_lower_or_equal_sequence_number_is_ignored_but_not_failed(sim, app, stale):
    submit(app, make_incident(updateSequenceNumber=5, status="resolved"))
    result = submit(app, make_incident(updateSequenceNumber=stale, status="open"))
    assert result == {"acceptedIncidents": ["INC-1"]}
    assert sim.incidents()["INC-1"]["status"] == "resolved"
    assert sim.incidents()["INC-1"]["updateSequenceNumber"] == 5


def test_last_writer_wins_within_one_request(sim, app):
    submit(
        app,
        make_incident(updateSequenceNumber=3, summary="third"),
        make_incident(updateSequenceNumber=2, summary="second"),
    )
    assert sim.incidents()["INC-1"]["summary"] == "third"


def test_reviews_are_stored_and_read_back(sim, app):
    review = make_review()
    result = submit(app, reviews=[review])
    assert result["acceptedReviews"] == ["PIR-1"]
    assert app.get(f"{API}/post-incident-reviews/PIR-1").json() == review


def test_incidents_and_reviews_in_one_request(sim, app):
    result = submit(app, make_incident(), reviews=[make_review()])
    assert result["acceptedIncidents"] == ["INC-1"]
    assert result["acceptedReviews"] == ["PIR-1"]


def test_delete_by_id(sim, app):
    submit(app, make_incident(), make_incident(id="INC-2"), reviews=[make_review()])
    assert app.delete(f"{API}/incidents/INC-1").status_code == 202
    assert app.delete(f"{API}/post-incident-reviews/PIR-1").status_code == 202
    assert list(sim.incidents()) == ["INC-2"]
    assert sim.reviews() == {}
    assert app.get(f"{API}/incidents/INC-1").status_code == 404


def test_delete_of_an_unknown_id_is_accepted(sim, app):
    assert app.delete(f"{API}/incidents/never-sent").status_code == 202


def test_delete_by_properties_matches_all_given_properties(sim, app):
    submit(app, make_incident(id="A"), properties={"account": "1", "team": "red"})
    submit(app, make_incident(id="B"), properties={"account": "1", "team": "blue"})
    submit(app, make_incident(id="C"), properties={"account": "2", "team": "red"})
    submit(app, reviews=[make_review(id="R")], properties={"account": "1", "team": "red"})
    response = app.delete(f"{API}/bulkByProperties", params={"account": "1", "team": "red"})
    assert response.status_code == 202
    assert sorted(sim.incidents()) == ["B", "C"]
    assert sim.reviews() == {}


def test_delete_by_properties_without_a_property_is_400(sim, app):
    submit(app, make_incident(), properties={"account": "1"})
    response = app.delete(f"{API}/bulkByProperties")
    assert response.status_code == 400
    assert "property" in response.json()[0]["message"]
    assert list(sim.incidents()) == ["INC-1"]


def test_an_update_replaces_the_properties(sim, app):
    submit(app, make_incident(updateSequenceNumber=1), properties={"account": "1"})
    submit(app, make_incident(updateSequenceNumber=2), properties={"account": "2"})
    app.delete(f"{API}/bulkByProperties", params={"account": "1"})
    assert list(sim.incidents()) == ["INC-1"]


def test_linked_workspaces_are_listed_and_checked_one_by_one(sim, app):
    response = app.post(f"{WORKSPACES}/bulk", json={"workspaceIds": ["ws-1", "ws-2", "ws-1"]})
    assert response.json() == {"acceptedWorkspaceIds": ["ws-1", "ws-2"]}
    assert app.get(WORKSPACES).json() == {"workspaceIds": ["ws-1", "ws-2"]}
    assert app.get(WORKSPACES, params={"workspaceId": "ws-2"}).json() == {"workspaceIds": ["ws-2"]}
    assert app.get(WORKSPACES, params={"workspaceId": "ws-9"}).status_code == 404


def test_linking_a_linked_workspace_again_keeps_it_once(sim, app):
    app.post(f"{WORKSPACES}/bulk", json={"workspaceIds": ["ws-1"]})
    response = app.post(f"{WORKSPACES}/bulk", json={"workspaceIds": ["ws-1", "ws-2"]})
    assert response.status_code == 202
    assert sim.workspaces() == ["ws-1", "ws-2"]


def test_workspaces_are_deleted_by_comma_separated_ids(sim, app):
    app.post(f"{WORKSPACES}/bulk", json={"workspaceIds": ["a", "b", "c"]})
    response = app.delete(f"{WORKSPACES}/bulk", params={"workspaceIds": "a,c,unknown"})
    assert response.status_code == 202
    assert sim.workspaces() == ["b"]


def test_workspaces_are_deleted_by_repeated_ids(sim, app):
    app.post(f"{WORKSPACES}/bulk", json={"workspaceIds": ["a", "b", "c"]})
    app.delete(f"{WORKSPACES}/bulk", params=[("workspaceIds", "a"), ("workspaceIds", "b")])
    assert sim.workspaces() == ["c"]


def test_deleting_workspaces_without_ids_is_400(sim, app):
    app.post(f"{WORKSPACES}/bulk", json={"workspaceIds": ["a"]})
    assert app.delete(f"{WORKSPACES}/bulk").status_code == 400
    assert sim.workspaces() == ["a"]


def test_two_apps_on_one_site_do_not_see_each_others_data(sim, app):
    other = install(sim, make_descriptor(key="com.example.other"))
    submit(app, make_incident())
    assert other.get(f"{API}/incidents/INC-1").status_code == 404
    submit(other, make_incident(summary="the other app's"))
    assert sim.incidents(app_key="com.example.ops-provider")["INC-1"]["summary"] != (
        "the other app's"
    )


def test_sites_keep_separate_data(sim, app):
    sim.create_site("b")
    on_b = install(sim, site="b")
    submit(on_b, make_incident())
    assert sim.incidents(site="b") and sim.incidents() == {}
    assert app.get(f"{API}/incidents/INC-1").status_code == 404


def test_incident_linked_only_to_unknown_projects_is_not_stored(sim):
    sim.create_site("b", projects={"OPS": "10000"})
    app = install(sim, site="b")
    only_unknown = make_incident(
        id="X", associations=[{"associationType": "issueIdOrKeys", "values": ["UTF-8"]}]
    )
    mixed = make_incident(
        id="Y", associations=[{"associationType": "issueIdOrKeys", "values": ["OPS-1", "NOPE-2"]}]
    )
    result = submit(app, only_unknown, mixed)
    assert result["acceptedIncidents"] == ["Y"]
    assert result["unknownProjectKeys"] == ["NOPE", "UTF"]
    assert list(sim.incidents(site="b")) == ["Y"]


def test_uninstall_deletes_the_apps_data(sim, app):
    submit(app, make_incident())
    app.post(f"{WORKSPACES}/bulk", json={"workspaceIds": ["ws-1"]})
    sim.uninstall()
    reinstalled = install(sim)
    assert reinstalled.get(f"{API}/incidents/INC-1").status_code == 404
    assert reinstalled.get(WORKSPACES).json() == {"workspaceIds": []}
