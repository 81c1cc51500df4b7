"""The way in for scripts and alerting tools (docs/api.md): a REST API under /api/v1/ and alert
webhooks, each authenticated by an integration's bearer token.

- `authentication`: bearer tokens → the integration (401 with `WWW-Authenticate: Bearer`);
- `parsers`, `errors`: JSON bodies of at most 1 MiB, and every refusal as `{"error", "detail"}`
  with the offending fields;
- `alerts`: the rules an alert notification follows (one open incident per group, update,
  resolve) and the delivery record, in one transaction;
- `alertmanager`, `grafana`, `generic`: each source's body → an `AlertNotification`;
- `containers`: containers named by the input, matched or created in the workspace;
- `idempotency`: the `Idempotency-Key` of REST POSTs;
- `serializers`, `views`, `hooks`, `urls`: the thin HTTP layer; `openapi`: its documentation;
- `snippets`: the Alertmanager and Grafana settings staff copy from the admin.
"""
