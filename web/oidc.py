"""Production sign-in: OpenID Connect, authorization code flow with PKCE, against the org's
identity provider (authlib for the protocol, joserfc for the ID token's signature).

The provider's token (``CRM_WEB_OIDC_TOKEN``: its access token, or its ID token) is what the
app sends to the gateway, which verifies it against the provider's JWKS (``CRM_JWKS_URL``)
like any client's token; it carries the member's ``sub``, ``org`` and ``roles``. Signing out
ends the provider's session too when it offers RP-initiated logout (``end_session_endpoint``).
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from web.settings import WebSettings


class SignInFailed(Exception):
    """The provider refused or the answer did not check out; the message is safe to show."""


@dataclass(frozen=True)
class Started:
    url: str
    state: dict[str, str]  # kept in the session until the provider sends the member back


@dataclass(frozen=True)
class SignedIn:
    token: str  # what the gateway is sent
    expires_at: float
    claims: dict[str, Any]
    id_token: str


class OpenIDConnect:
    def __init__(self, settings: WebSettings, timeout: float = 10.0) -> None:
        assert settings.oidc_issuer and settings.oidc_client_id
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.client_id = settings.oidc_client_id
        self.client_secret = settings.oidc_client_secret
        self.scopes = settings.oidc_scopes
        self.forward = settings.oidc_token
        self.timeout = timeout
        self._metadata: dict[str, Any] | None = None
        self._keys: dict[str, Any] | None = None

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            url = f"{self.issuer}/.well-known/openid-configuration"
            try:
                async with httpx.AsyncClient(timeout=self.timeout) as http:
                    response = await http.get(url)
                    response.raise_for_status()
                    self._metadata = dict(response.json())
            except (httpx.HTTPError, ValueError):
                raise SignInFailed("the identity provider is not reachable") from None
        return self._metadata

    async def _key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            metadata = await self.metadata()
            try:
                async with httpx.AsyncClient(timeout=self.timeout) as http:
                    response = await http.get(metadata["jwks_uri"])
                    response.raise_for_status()
                    self._keys = dict(response.json())
            except (httpx.HTTPError, ValueError, KeyError):
                raise SignInFailed("the identity provider's keys are not reachable") from None
        return KeySet.import_key_set(self._keys)  # type: ignore[arg-type]

    async def start(self, redirect_uri: str, next_page: str) -> Started:
        metadata = await self.metadata()
        verifier = generate_token(64)
        nonce = generate_token(32)
        state = generate_token(32)
        url = prepare_grant_uri(
            metadata["authorization_endpoint"],
            client_id=self.client_id,
            response_type="code",
            redirect_uri=redirect_uri,
            scope=self.scopes,
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )
        return Started(
            url, {"state": state, "nonce": nonce, "verifier": verifier, "next": next_page}
        )

    async def finish(
        self, redirect_uri: str, params: dict[str, str], started: dict[str, str]
    ) -> SignedIn:
        """Check the provider's answer against the sign-in we started, redeem the code with
        its PKCE verifier and verify the ID token (signature, issuer, audience, nonce, expiry)."""
        if "error" in params:
            raise SignInFailed(params.get("error_description") or params["error"])
        if not started or params.get("state") != started.get("state"):
            raise SignInFailed("the sign-in expired or came from elsewhere: try again")
        code = params.get("code")
        if not code:
            raise SignInFailed("the identity provider sent no code")
        metadata = await self.metadata()
        token = await self._redeem(metadata["token_endpoint"], code, redirect_uri,
                                   started["verifier"])
        id_token = token.get("id_token")
        if not id_token:
            raise SignInFailed("the identity provider sent no ID token")
        claims = await self._verify_id_token(id_token, token, started["nonce"], metadata)
        forwarded = id_token if self.forward == "id_token" else token.get("access_token")
        if not forwarded:
            raise SignInFailed("the identity provider sent no access token")
        expires_at = float(token.get("expires_at") or claims.get("exp") or time.time() + 3600)
        return SignedIn(str(forwarded), expires_at, claims, id_token)

    async def end_session_url(self, id_token: str, post_logout_redirect_uri: str) -> str | None:
        """Where to send a member signing out so that the provider's session ends too
        (RP-initiated logout), or None when the provider offers no such endpoint or cannot
        be reached (the member is then signed out of the app only)."""
        try:
            endpoint = (await self.metadata()).get("end_session_endpoint")
        except SignInFailed:
            return None
        if not endpoint:
            return None
        url: str = add_params_to_uri(str(endpoint), [
            ("id_token_hint", id_token),
            ("client_id", self.client_id),
            ("post_logout_redirect_uri", post_logout_redirect_uri),
        ])
        return url

    async def _redeem(
        self, endpoint: str, code: str, redirect_uri: str, verifier: str
    ) -> dict[str, Any]:
        form = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": redirect_uri, "code_verifier": verifier}
        headers = {"Accept": "application/json"}
        if self.client_secret:
            # RFC 6749 2.3.1: each part form-encoded, then HTTP Basic.
            pair = f"{quote(self.client_id, safe='')}:{quote(self.client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        else:  # a public client proves itself with PKCE alone
            form["client_id"] = self.client_id
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as http:
                response = await http.post(endpoint, data=form, headers=headers)
            token = dict(response.json())
        except (httpx.HTTPError, ValueError):
            raise SignInFailed("the identity provider is not reachable") from None
        if response.status_code != 200 or "error" in token:
            why = token.get("error_description") or token.get("error") or response.status_code
            raise SignInFailed(f"the identity provider refused the sign-in ({why})")
        if "expires_in" in token and "expires_at" not in token:
            token["expires_at"] = time.time() + float(token["expires_in"])
        return token

    async def _verify_id_token(
        self, id_token: str, token: dict[str, Any], nonce: str, metadata: dict[str, Any]
    ) -> dict[str, Any]:
        algorithms = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(algorithms=algorithms)
        try:
            try:
                decoded = jwt.decode(id_token, await self._key_set(), registry=registry)
            except JoseError:  # the provider may have rotated its keys
                decoded = jwt.decode(id_token, await self._key_set(refresh=True),
                                     registry=registry)
            claims = CodeIDToken(
                decoded.claims,
                decoded.header,
                {"iss": {"essential": True, "value": metadata.get("issuer", self.issuer)}},
                {"nonce": nonce, "client_id": self.client_id,
                 "access_token": token.get("access_token")},
            )
            claims.validate(leeway=60)
        except (JoseError, ValueError) as error:
            raise SignInFailed(f"the ID token did not verify: {error}") from None
        return dict(claims)
