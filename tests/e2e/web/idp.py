"""A small but real OpenID provider for the sign-in tests, built with authlib's server side on
Flask: discovery, JWKS, an authorization endpoint with a login page and a session of its own
(a member signed in there is sent back at once next time), a token endpoint issuing an RS256
ID token and an access token the CRM accepts, and RP-initiated logout (``end_session_endpoint``)
ending that session. Authorization codes must come with an S256 PKCE challenge, which the token
request must answer.

``forge`` turns the provider hostile: its token endpoint then answers with an ID token that
is wrong in one way (see ``FORGERIES``), as a compromised provider or a tampering network
would."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc6749.errors import InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, jsonify, redirect, request
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey, RSAKey
from werkzeug.serving import make_server

from crmkit.embedded import free_port


@dataclass
class Person:
    sub: str
    org: str
    name: str
    roles: list[str]
    team: str | None = None


FORGERIES = ("signature", "audience", "issuer", "expired", "nonce")
"""An ID token signed with another key (under the provider's key id), for another client, from
another issuer, expired an hour ago, or answering another sign-in's nonce."""


@dataclass
class Client:
    client_id: str
    client_secret: str
    redirect_uri: str
    post_logout_redirect_uri: str | None = None

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope.split() if s in ("openid", "profile", "email"))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri == self.redirect_uri

    def check_client_secret(self, client_secret: str) -> bool:
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "client_secret_basic"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: Person
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class Provider:
    """The provider in a thread of the test process, on a free port of this machine."""

    def __init__(self, crm_secret: str) -> None:
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig"})
        self.crm_key = OctKey.import_key(crm_secret)
        self.people: dict[str, Person] = {}
        self.codes: dict[str, Code] = {}
        self.issued: list[Code] = []  # every authorization code given out
        self.client: Client | None = None
        self.sessions: dict[str, Person] = {}  # the provider's own sign-ins, by cookie
        self.logouts: list[str] = []  # the ``sub`` of each RP-initiated logout
        self.forge: str | None = None  # one of FORGERIES
        self.app = self._app()
        self._server = make_server("127.0.0.1", self.port, self.app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def register(
        self, client_id: str, client_secret: str, redirect_uri: str,
        post_logout_redirect_uri: str | None = None,
    ) -> None:
        self.client = Client(client_id, client_secret, redirect_uri, post_logout_redirect_uri)

    def add(self, person: Person) -> None:
        self.people[person.sub] = person

    def __enter__(self) -> Provider:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._thread.join(5)

    def _access_token(self, person: Person, lifetime: int) -> str:
        # What the CRM's gateway accepts: its claims, signed with the key it verifies with.
        now = int(time.time())
        claims = {"sub": person.sub, "org": person.org, "roles": person.roles,
                  "name": person.name, "groups": ["sales"], "iat": now, "exp": now + lifetime,
                  "iss": self.issuer}
        if person.team:
            claims["team"] = person.team
        return jwt.encode({"alg": "HS256"}, claims, self.crm_key)

    def _forged(self, id_token: str) -> str:
        claims = jwt.decode(id_token, self.key).claims
        key = self.key
        now = int(time.time())
        if self.forge == "signature":
            key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig"})
        elif self.forge == "audience":
            claims["aud"] = ["another-client"]
        elif self.forge == "issuer":
            claims["iss"] = "http://127.0.0.1:9/elsewhere"
        elif self.forge == "expired":
            claims["iat"], claims["exp"] = now - 7200, now - 3600
        elif self.forge == "nonce":
            claims["nonce"] = "a-nonce-of-another-sign-in"
        else:
            raise AssertionError(f"unknown forgery {self.forge}")
        return jwt.encode({"alg": "RS256", "kid": "test-key"}, claims, key)

    def _app(self) -> Flask:
        provider = self
        app = Flask("test-idp")
        app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {"authorization_code": 3600}

        def token_generator(grant_type: str, client: Client, user: Person | None = None,
                            scope: str | None = None, expires_in: int | None = None,
                            include_refresh_token: bool = True) -> dict[str, Any]:
            assert user is not None
            return {"token_type": "Bearer", "expires_in": 3600, "scope": scope,
                    "access_token": provider._access_token(user, 3600)}

        server = AuthorizationServer(
            app,
            query_client=lambda client_id: provider.client
            if provider.client and provider.client.client_id == client_id else None,
            save_token=lambda token, request: None,
        )
        server.register_token_generator("default", token_generator)

        class CodeGrant(grants.AuthorizationCodeGrant):
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]

            def save_authorization_code(self, code: str, request: Any) -> None:
                data = request.payload.data
                provider.codes[code] = Code(
                    code, request.client.client_id, request.payload.redirect_uri,
                    request.payload.scope, request.user, data.get("nonce"),
                    data.get("code_challenge"), data.get("code_challenge_method"),
                )
                provider.issued.append(provider.codes[code])

            def query_authorization_code(self, code: str, client: Client) -> Code | None:
                found = provider.codes.get(code)
                return found if found and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code: Code) -> None:
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: Code) -> Person:
                return authorization_code.user

        class OpenID(OpenIDCode):
            def exists_nonce(self, nonce: str, request: Any) -> bool:
                return any(c.nonce == nonce for c in provider.codes.values())

            def resolve_client_private_key(self, client: Client) -> dict[str, Any]:
                return provider.key.as_dict(private=True)

            def get_client_algorithm(self, client: Client) -> str:
                return "RS256"

            def get_encode_header(self, client: Client) -> dict[str, str]:
                return {"alg": "RS256", "kid": "test-key"}

            def get_client_claims(self, client: Client) -> dict[str, Any]:
                return {"iss": provider.issuer, "aud": [client.client_id]}

            def generate_user_info(self, user: Person, scope: str) -> dict[str, Any]:
                return {"sub": user.sub, "name": user.name}

        class RequiredS256(CodeChallenge):
            def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
                method = grant.request.payload.data.get("code_challenge_method")
                if method != "S256":
                    raise InvalidRequestError("this provider requires PKCE with S256")
                super().validate_code_challenge(grant, redirect_uri)

        server.register_grant(CodeGrant, [OpenID(require_nonce=True), RequiredS256(True)])

        @app.get("/.well-known/openid-configuration")
        def discovery() -> Any:
            return jsonify({
                "issuer": provider.issuer,
                "authorization_endpoint": provider.issuer + "/authorize",
                "token_endpoint": provider.issuer + "/token",
                "jwks_uri": provider.issuer + "/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "end_session_endpoint": provider.issuer + "/logout",
            })

        @app.get("/jwks")
        def jwks() -> Any:
            return jsonify({"keys": [provider.key.as_dict(private=False)]})

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize() -> Any:
            signed_in = provider.sessions.get(request.cookies.get("idp_session", ""))
            if request.method == "GET" and signed_in is None:
                server.get_consent_grant(end_user=None)  # validates the request first
                buttons = "".join(
                    f'<button name="sub" value="{p.sub}">{p.name}</button>'
                    for p in provider.people.values()
                )
                return f"<!doctype html><title>Test IdP</title><form method=post>{buttons}</form>"
            person = signed_in or provider.people.get(request.form.get("sub", ""))
            grant = server.get_consent_grant(end_user=person)
            response = server.create_authorization_response(grant_user=person, grant=grant)
            if person is not None and signed_in is None:
                sid = secrets.token_urlsafe(16)
                provider.sessions[sid] = person
                response.set_cookie("idp_session", sid, httponly=True, samesite="Lax")
            return response

        @app.post("/token")
        def token() -> Any:
            response = server.create_token_response()
            if provider.forge and response.status_code == 200:
                body = response.get_json()
                body["id_token"] = provider._forged(body["id_token"])
                response.set_data(jsonify(body).get_data())
            return response

        @app.route("/logout", methods=["GET", "POST"])
        def logout() -> Any:
            """RP-initiated logout 1.0: the hint must be an ID token this provider gave the
            client; the provider's session ends, and the member goes back where the client
            registered."""
            values = request.values
            try:
                hint = jwt.decode(values.get("id_token_hint", ""), provider.key).claims
            except (JoseError, ValueError):
                return "<!doctype html><title>Test IdP</title>bad id_token_hint", 400
            client = provider.client
            audience = hint.get("aud", [])
            if client is None or client.client_id not in (
                [audience] if isinstance(audience, str) else audience
            ):
                return "<!doctype html><title>Test IdP</title>unknown client", 400
            sid = request.cookies.get("idp_session", "")
            if provider.sessions.pop(sid, None) is not None:
                provider.logouts.append(str(hint["sub"]))
            back = values.get("post_logout_redirect_uri")
            if back and back == client.post_logout_redirect_uri:
                state = values.get("state")
                response = redirect(back + (f"?{urlencode({'state': state})}" if state else ""))
            else:
                response = app.make_response("<!doctype html><title>Test IdP</title>Signed out")
            response.delete_cookie("idp_session")
            return response

        return app
