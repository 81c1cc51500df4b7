import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from incidents.models import Container, Workspace, WorkspaceLink

from .factories import make_container, make_installation, make_workspace

pytestmark = pytest.mark.django_db


def errors_of(instance) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as caught:
        instance.full_clean()
    return caught.value.message_dict


def test_a_valid_workspace_passes_full_clean():
    make_workspace(external_id="payments.eu-1_a~b").full_clean()


@pytest.mark.parametrize("bad", ["has space", "a,b", "../x", ".hidden", "..", "a/b", "é", "-x"])
def test_workspace_id_outside_the_url_safe_pattern_is_refused(bad):
    errors = errors_of(Workspace(external_id=bad, name="W", url="https://ops.example.com"))
    assert "goes into Jira URLs" in errors["external_id"][0]
    assert repr(bad) in errors["external_id"][0]


def test_workspace_id_longer_than_255_is_refused_with_its_length():
    errors = errors_of(Workspace(external_id="w" * 256, name="W", url="https://ops.example.com"))
    assert errors["external_id"] == ["Ensure this value has at most 255 characters (it has 256)."]


@pytest.mark.parametrize(
    "bad", ["not a url", "ftp://files.example.com/x", "javascript:alert(1)", "https://"]
)
def test_workspace_url_must_be_a_web_address(bad):
    errors = errors_of(Workspace(external_id="w1", name="W", url=bad))
    assert errors["url"] == ["Enter a full web address starting with https:// or http://."]


def test_workspace_url_longer_than_jira_allows_is_refused():
    url = "https://ops.example.com/" + "a" * 1977
    assert len(url) == 2001
    errors = errors_of(Workspace(external_id="w1", name="W", url=url))
    assert "at most 2000 characters (it has 2001)" in " ".join(errors["url"])


def test_workspace_ids_are_unique():
    make_workspace(external_id="dup")
    with pytest.raises(IntegrityError):
        make_workspace(external_id="dup")


@pytest.mark.parametrize("good", ["api", "team/api", "a-b_c.d~e@f:g{h}=i", "x/y/z"])
def test_container_ids_matching_jiras_pattern_pass(good):
    make_container(external_id=good).full_clean()


@pytest.mark.parametrize("bad", ["/api", "api/", "a//b", "has space", "a,b", "a?b", "a#b", ""])
def test_container_id_breaking_jiras_pattern_is_refused(bad):
    workspace = make_workspace()
    container = Container(workspace=workspace, external_id=bad, name="C", url="https://x.example")
    errors = errors_of(container)
    assert "external_id" in errors


def test_container_ids_are_unique_across_workspaces():
    make_container(external_id="shared-name")
    with pytest.raises(IntegrityError):
        make_container(external_id="shared-name")


def test_container_avatar_url_may_be_empty_but_not_invalid():
    container = make_container(avatar_url="")
    container.full_clean()
    container.avatar_url = "avatar.png"
    assert "avatar_url" in errors_of(container)


def test_link_site_records_who_and_is_idempotent(django_user_model):
    user = django_user_model.objects.create_user("linker")
    workspace, site = make_workspace(), make_installation()
    first = workspace.link_site(site, by=user)
    again = workspace.link_site(site)
    assert first.pk == again.pk and again.linked_by == user
    assert list(site.workspaces.all()) == [workspace]


def test_unlink_site_removes_only_that_link():
    workspace, kept, dropped = make_workspace(), make_installation(), make_installation()
    workspace.link_site(kept)
    workspace.link_site(dropped)
    assert workspace.unlink_site(dropped) is True
    assert workspace.unlink_site(dropped) is False
    assert list(workspace.sites.all()) == [kept]


def test_linking_an_uninstalled_site_is_refused():
    site = make_installation(state="uninstalled")
    link = WorkspaceLink(workspace=make_workspace(), installation=site)
    errors = errors_of(link)
    assert "only an active Jira site can be linked" in errors["installation"][0]


def test_a_site_that_uninstalls_later_keeps_its_existing_link_valid():
    site = make_installation()
    link = make_workspace().link_site(site)
    site.state = "uninstalled"
    site.save()
    link.refresh_from_db()
    link.full_clean()


@pytest.mark.parametrize(
    "bad, named",
    [
        ("https://wiki.example.com/Störung", "'ö'"),
        ("https://ops.example.com/{id}", "'{' '}'"),
        ('https://ops.example.com/a"b', "'\"'"),
        ("https://ops.example.com/a|b", "'|'"),
    ],
)
def test_url_characters_a_uri_must_encode_are_named(bad, named):
    errors = errors_of(Workspace(external_id="w1", name="W", url=bad))
    assert errors["url"] == [f"Jira needs a plain URI: percent-encode or remove {named}."]


def test_percent_encoded_urls_are_accepted():
    make_workspace(url="https://wiki.example.com/St%C3%B6rung?q=a%20b#top").full_clean()
