"""The one site-URL parser: what the allow-list checks is what is stored and what is called."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from connect import errors, site_urls
from connect.client import JiraBadRequest, JiraClient
from connect.models import Installation

SECRET = "site-secret-" + "u" * 64


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("https://acme.atlassian.net", "https://acme.atlassian.net"),
        ("https://acme.atlassian.net/", "https://acme.atlassian.net"),
        ("HTTPS://ACME.Atlassian.NET", "https://acme.atlassian.net"),
        ("https://acme.atlassian.net:443", "https://acme.atlassian.net"),
        ("https://acme.jira.com/jira", "https://acme.jira.com/jira"),
        ("https://xn--bcher-kva.atlassian.net", "https://xn--bcher-kva.atlassian.net"),
    ],
)
def test_allowed_site_urls_are_stored_in_normal_form(url, normal):
    assert site_urls.check_site_url(url) == normal


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example\\.atlassian.net",
        "https://evil.example\\@acme.atlassian.net",
        "https://acme.atlassian.net@evil.example",
        "https://user:pw@acme.atlassian.net",
        "https://acme.atlassian.net#frag",
        "https://acme.atlassian.net?q=1",
        "https://acme.atlassian.net/a/../b",
        "https://acme.atlassian.net//evil.example",
        "https://acme.atlassian.net/%2e%2e",
        "https://acme.atlassian.net:8443",
        "https://acme.atlassian.net:",
        "https:///acme.atlassian.net",
        "https://-acme.atlassian.net",
        "https://acme_x.atlassian.net",
        "https://bücher.atlassian.net",
        "https://acme.atlassian.net\u3002evil.example",
        "https://acme.atlassian.net.",
        " https://acme.atlassian.net",
        "https://acme.atlassian.net\n",
        "ftp://acme.atlassian.net",
        "//acme.atlassian.net",
        "http://acme.atlassian.net",
        "https://[::1]",
    ],
)
def test_ambiguous_or_unsafe_site_urls_are_refused(url):
    with pytest.raises(errors.InvalidField):
        site_urls.check_site_url(url)


@pytest.mark.parametrize("url", ["https://evil.example", "https://atlassian.net.evil.example"])
def test_hosts_outside_the_allow_list_are_not_allowed(url):
    with pytest.raises(errors.SiteNotAllowed):
        site_urls.check_site_url(url)


def test_a_port_and_http_need_an_exact_loopback_entry(settings):
    settings.CONNECT_ALLOWED_SITE_HOSTS = ["*.atlassian.net", "127.0.0.1", "jira.internal"]
    assert site_urls.check_site_url("http://127.0.0.1:8100/") == "http://127.0.0.1:8100"
    assert site_urls.check_site_url("https://jira.internal:8443") == "https://jira.internal:8443"
    with pytest.raises(errors.InvalidField, match="must be https"):
        site_urls.check_site_url("http://jira.internal")


def test_http_is_accepted_with_debug(settings):
    settings.DEBUG = True
    assert site_urls.check_site_url("http://acme.atlassian.net") == "http://acme.atlassian.net"


class Listener:
    """A local HTTP server that records every request it receives."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                listener.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def elsewhere():
    listener = Listener()
    yield listener
    listener.stop()


@pytest.mark.parametrize(
    "stored",
    [
        "http://127.0.0.1:{port}\\.atlassian.net",
        "http://127.0.0.1:{port}\\@acme.atlassian.net",
        "http://acme.atlassian.net@127.0.0.1:{port}",
    ],
)
def test_client_never_sends_a_signed_request_to_a_host_the_parser_did_not_read(elsewhere, stored):
    """A row stored before this parser existed: the client reads it with the same parser and
    refuses, rather than letting `requests` pick another host than the allow-list saw."""
    installation = Installation(client_key="site-x", base_url=stored.format(port=elsewhere.port))
    installation.set_shared_secret(SECRET)
    with pytest.raises(JiraBadRequest, match="stored site URL"):
        JiraClient(installation, sleep=lambda _: None).get_workspaces()
    assert elsewhere.paths == []


def test_client_sends_to_the_normal_form_of_the_stored_url(elsewhere):
    installation = Installation(
        client_key="site-x", base_url=f"HTTP://127.0.0.1:{elsewhere.port}/", state="installed"
    )
    installation.set_shared_secret(SECRET)
    client = JiraClient(installation, sleep=lambda _: None)
    assert client.base_url == f"http://127.0.0.1:{elsewhere.port}"
    client.get_workspaces()
    assert [urlsplit(path).path for path in elsewhere.paths] == [
        "/rest/operations/1.0/linkedWorkspaces"
    ]
