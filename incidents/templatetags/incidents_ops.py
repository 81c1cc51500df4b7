"""Template pieces several ops pages share: the red "Jira sync is failing" banner."""

from __future__ import annotations

from django import template

from incidents.sync import overview

register = template.Library()


@register.inclusion_tag("incidents/pages/sync_banner.html", takes_context=True)
def jira_sync_banner(context) -> dict:
    """The banner when any Jira site is failing or needs attention; nothing otherwise. Reuses
    the page's own figures when it computed them (`sites_health` in its context)."""
    health = context.get("sites_health")
    if health is None:
        return {"banner": overview.failing_banner()}
    return {"banner": overview.banner(health)}
