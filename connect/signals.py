"""Signals other apps connect to, to react to a site installing or leaving the app.

Both are sent INSIDE the lifecycle transaction, after the Installation row is saved and before
commit: a receiver may write in the same transaction (and its writes roll back with the install),
but must not call Jira or do slow work there; use `transaction.on_commit` for that. An
exception in a receiver fails the callback (Jira sees an error and the install is not stored).
"""

from django.dispatch import Signal

#: Sent after a verified `installed`: kwargs `installation`, `reinstall` (the site was known).
installation_installed = Signal()

#: Sent after a verified `uninstalled` of a known site: kwarg `installation`.
installation_uninstalled = Signal()
