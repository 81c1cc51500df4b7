"""The ops staff's admin, one module per group of screens; importing them registers them.

- `domain`: workspaces, containers, incidents and reviews;
- `sites`: the Jira sites (connect's Installation), with their linked workspaces and backlog;
- `sync`: the sync state on entity pages, the sync actions, the read-only outbox list;
- `associations`: what Jira told us through onEntityAssociated (read-only);
- `integrations`: API and webhook integrations (tokens) and their deliveries;
- `forms`, `display`, `rendering`: the forms and display helpers the screens share.
"""

from incidents.admin import associations, domain, integrations, sites, sync

__all__ = ["associations", "domain", "integrations", "sites", "sync"]
