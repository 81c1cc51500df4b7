"""A JSON Schema of the descriptor, written from Atlassian's app descriptor reference
(https://developer.atlassian.com/cloud/jira/platform/connect-app-descriptor/) and the
jiraOperationsInfoProvider module's page
(https://developer.atlassian.com/cloud/jira/software/modules/operations-information/)."""

ABSOLUTE_URL = {"type": "string", "pattern": r"^https?://[^/?#\s]+(/[^?#\s]*)?$"}

ACTION = {
    "type": "object",
    "required": ["templateUrl"],
    "properties": {"templateUrl": ABSOLUTE_URL},
    "additionalProperties": False,
}

OPERATIONS_MODULE = {
    "type": "object",
    "required": ["key", "name", "homeUrl", "actions"],
    "properties": {
        "key": {"type": "string", "maxLength": 100, "pattern": "^[a-zA-Z0-9-]+$"},
        "name": {
            "type": "object",
            "required": ["value"],
            "properties": {
                "value": {"type": "string", "minLength": 1, "maxLength": 1500},
                "i18n": {"type": "string", "maxLength": 300},
            },
            "additionalProperties": False,
        },
        "homeUrl": ABSOLUTE_URL,
        "logoUrl": ABSOLUTE_URL,
        "documentationUrl": ABSOLUTE_URL,
        "actions": {
            "type": "object",
            "required": ["fetchWorkspaces", "searchContainers"],
            "properties": {
                "fetchWorkspaces": ACTION,
                "searchContainers": ACTION,
                "onEntityAssociated": ACTION,
                "onEntityDisassociated": ACTION,
            },
            "additionalProperties": False,
        },
    },
    "additionalProperties": False,
}

DESCRIPTOR = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["key", "baseUrl", "authentication", "modules"],
    "properties": {
        "key": {"type": "string", "maxLength": 80, "pattern": r"^[a-zA-Z0-9\-._]+$"},
        "name": {"type": "string", "maxLength": 80},
        "description": {"type": "string", "maxLength": 1400},
        "vendor": {
            "type": "object",
            "required": ["name", "url"],
            "properties": {"name": {"type": "string"}, "url": ABSOLUTE_URL},
        },
        "baseUrl": {**ABSOLUTE_URL, "maxLength": 200},
        "authentication": {
            "type": "object",
            "required": ["type"],
            "properties": {"type": {"const": "jwt"}},
        },
        "apiVersion": {"type": "integer", "minimum": 1},
        "enableLicensing": {"type": "boolean"},
        "lifecycle": {
            "type": "object",
            "required": ["installed", "uninstalled"],
            "properties": {
                event: {"type": "string", "pattern": "^/"}
                for event in ("installed", "uninstalled", "enabled", "disabled")
            },
            "additionalProperties": False,
        },
        "scopes": {
            "type": "array",
            "uniqueItems": True,
            "items": {
                "enum": [
                    "READ",
                    "WRITE",
                    "DELETE",
                    "PROJECT_ADMIN",
                    "ADMIN",
                    "ACT_AS_USER",
                    "ACCESS_EMAIL_ADDRESSES",
                ]
            },
        },
        "apiMigrations": {
            "type": "object",
            "properties": {
                "signed-install": {"type": "boolean"},
                "context-qsh": {"type": "boolean"},
                "gdpr": {"type": "boolean"},
            },
            "additionalProperties": False,
        },
        "links": {
            "type": "object",
            "properties": {"self": ABSOLUTE_URL, "documentation": ABSOLUTE_URL},
        },
        "modules": {
            "type": "object",
            "required": ["jiraOperationsInfoProvider"],
            "properties": {"jiraOperationsInfoProvider": OPERATIONS_MODULE},
        },
    },
    "additionalProperties": False,
}
