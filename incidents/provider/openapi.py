"""How the OpenAPI document at /api/schema/ describes Connect JWT authentication."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ConnectJWTScheme(OpenApiAuthenticationExtension):
    """`Authorization: JWT <token>`: HS256, signed with the site's shared secret, `iss` = the
    site's clientKey, `qsh` = the hash of this very request
    (https://developer.atlassian.com/cloud/jira/platform/understanding-jwt-for-connect-apps/)."""

    target_class = "connect.authentication.ConnectJWTAuthentication"
    name = "connectJwt"

    def get_security_definition(self, auto_schema) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "A Connect JWT as 'JWT <token>': HS256 with the site's sharedSecret, "
                "iss = clientKey, qsh bound to the method, path and query of the request."
            ),
        }
