"""Hypothesis strategies for values inside Jira's limits, including unicode and maximal lengths."""

from datetime import UTC, datetime

from hypothesis import strategies as st

from incidents.models import AssociationType, Incident, PostIncidentReview
from incidents.validators import (
    CONTAINER_ID_PATTERN,
    DESCRIPTION_MAX_LENGTH,
    ISSUE_ID_OR_KEY_PATTERN,
    SAFE_ID_PATTERN,
    SERVICE_ID_OR_KEY_PATTERN,
    SUMMARY_MAX_LENGTH,
    URL_MAX_LENGTH,
)

# Any character PostgreSQL text can hold: no surrogates, no NUL.
characters = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")


def bounded_text(max_size: int, min_size: int = 0):
    """Short unicode text most of the time, and sometimes exactly the limit."""
    return st.one_of(
        st.text(characters, min_size=min_size, max_size=min(max_size, 80)),
        st.builds(lambda char: char * max_size, characters),
    )


def ids_matching(pattern: str, max_size: int = 255):
    longest = st.builds(lambda tail: ("a" + tail * max_size)[:max_size], st.sampled_from("a9-_.~"))
    return st.one_of(
        st.from_regex(rf"\A(?:{pattern})\Z", fullmatch=True).filter(lambda s: len(s) <= max_size),
        longest,
    )


safe_ids = ids_matching(SAFE_ID_PATTERN)
container_ids = ids_matching(CONTAINER_ID_PATTERN)
summaries = bounded_text(SUMMARY_MAX_LENGTH, min_size=1)
descriptions = bounded_text(DESCRIPTION_MAX_LENGTH)

_path = st.from_regex(r"\A(/[A-Za-z0-9._~%-]{0,20}){0,4}\Z", fullmatch=True)
urls = st.one_of(
    st.builds(
        "{}://{}{}".format,
        st.sampled_from(["https", "http"]),
        st.sampled_from(["ops.example.com", "status.example.org:8443", "xn--bcher-kva.example"]),
        _path,
    ),
    st.builds(
        lambda fill: ("https://ops.example.com/" + fill * URL_MAX_LENGTH)[:URL_MAX_LENGTH],
        st.sampled_from("az09-"),
    ),
)
moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
severities = st.sampled_from(["", *Incident.Severity.values])
incident_statuses = st.sampled_from(Incident.Status.values)
review_statuses = st.sampled_from(PostIncidentReview.Status.values)

associations = st.lists(
    st.one_of(
        st.tuples(
            st.just(AssociationType.ISSUE),
            st.from_regex(rf"\A(?:{ISSUE_ID_OR_KEY_PATTERN})\Z", fullmatch=True).filter(
                lambda s: len(s) <= 255
            ),
        ),
        st.tuples(
            st.just(AssociationType.SERVICE),
            st.from_regex(rf"\A(?:{SERVICE_ID_OR_KEY_PATTERN})\Z", fullmatch=True).filter(
                lambda s: len(s) <= 255
            ),
        ),
    ),
    max_size=100,
    unique=True,
)
