from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from crmkit.auth import (
    InvalidToken,
    Role,
    TokenVerifier,
    mint_dev_token,
    token_settings_problem,
)
from crmkit.settings import DEV_JWT_SECRET, Settings

MEMBER = uuid.uuid4()
ORG = uuid.uuid4()


def hs_verifier() -> TokenVerifier:
    return TokenVerifier(secret=DEV_JWT_SECRET, algorithms=["HS256"])


def test_dev_token_round_trip() -> None:
    token = mint_dev_token(
        secret=DEV_JWT_SECRET,
        member_id=MEMBER,
        org_id=ORG,
        roles=["manager"],
        team="north",
        groups=["sales", "legal"],
        name="Ann",
    )
    caller = hs_verifier().verify_header(f"Bearer {token}")
    assert caller.member_id == MEMBER
    assert caller.org_id == ORG
    assert caller.roles == {Role.MANAGER}
    assert caller.is_manager and not caller.is_admin
    assert caller.team == "north"
    assert caller.groups == {"sales", "legal"}
    assert caller.name == "Ann"


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing bearer token"),
        ("", "missing bearer token"),
        ("Basic abc", "must be 'Bearer <token>'"),
        ("Bearer ", "must be 'Bearer <token>'"),
        ("Bearer not.a.jwt", "token is invalid"),
    ],
)
def test_unusable_headers_are_refused(header: str | None, reason: str) -> None:
    with pytest.raises(InvalidToken, match=reason):
        hs_verifier().verify_header(header)


def test_expired_token_is_refused() -> None:
    token = mint_dev_token(
        secret=DEV_JWT_SECRET, member_id=MEMBER, org_id=ORG, roles=["rep"], ttl_seconds=-10
    )
    with pytest.raises(InvalidToken, match="expired"):
        hs_verifier().verify(token)


def test_token_signed_with_another_key_is_refused() -> None:
    token = mint_dev_token(secret="x" * 40, member_id=MEMBER, org_id=ORG, roles=["rep"])
    with pytest.raises(InvalidToken, match="invalid"):
        hs_verifier().verify(token)


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "not-a-uuid", "org": str(ORG), "roles": ["rep"]},
        {"sub": str(MEMBER), "roles": ["rep"]},
        {"sub": str(MEMBER), "org": str(ORG), "roles": []},
        {"sub": str(MEMBER), "org": str(ORG), "roles": ["emperor"]},
    ],
)
def test_bad_claims_are_refused(claims: dict[str, object]) -> None:
    token = jwt.encode({**claims, "exp": int(time.time()) + 60}, DEV_JWT_SECRET, "HS256")
    with pytest.raises(InvalidToken):
        hs_verifier().verify(token)


def test_alg_none_is_refused() -> None:
    token = jwt.encode(
        {"sub": str(MEMBER), "org": str(ORG), "roles": ["admin"], "exp": int(time.time()) + 60},
        key=None,
        algorithm="none",
    )
    with pytest.raises(InvalidToken):
        hs_verifier().verify(token)


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, dict[str, object]]]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    rsa_jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rsa_key.public_key()))
    ec_jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(ec_key.public_key()))
    rsa_jwk.update(kid="rsa-1", use="sig", alg="RS256")
    ec_jwk.update(kid="ec-1", use="sig", alg="ES256")
    body = json.dumps({"keys": [rsa_jwk, ec_jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/.well-known/jwks.json"
    yield url, {"rsa": rsa_key, "ec": ec_key}
    server.shutdown()
    server.server_close()


def test_production_tokens_are_verified_against_the_jwks(
    jwks_server: tuple[str, dict[str, object]],
) -> None:
    url, keys = jwks_server
    verifier = TokenVerifier(secret=None, algorithms=["RS256", "ES256"], jwks_url=url)
    claims = {"sub": str(MEMBER), "org": str(ORG), "roles": ["rep"], "exp": int(time.time()) + 60}
    rs = jwt.encode(claims, keys["rsa"], algorithm="RS256", headers={"kid": "rsa-1"})  # type: ignore[arg-type]
    es = jwt.encode(claims, keys["ec"], algorithm="ES256", headers={"kid": "ec-1"})  # type: ignore[arg-type]
    assert verifier.verify(rs).member_id == MEMBER
    assert verifier.verify(es).org_id == ORG
    forged = jwt.encode(claims, DEV_JWT_SECRET, algorithm="HS256", headers={"kid": "rsa-1"})
    with pytest.raises(InvalidToken):
        verifier.verify(forged)


def test_a_verified_token_is_remembered_until_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    verifier = hs_verifier()
    token = mint_dev_token(secret=DEV_JWT_SECRET, member_id=MEMBER, org_id=ORG,
                           roles=["rep"], ttl_seconds=30)
    checks = 0
    real_decode = jwt.decode

    def counting_decode(*args: object, **kwargs: object) -> object:
        nonlocal checks
        checks += 1
        return real_decode(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jwt, "decode", counting_decode)
    first = verifier.verify(token)
    assert verifier.verify(token) is first
    assert checks == 1
    # Past its expiry the remembered answer is dropped and the token checked again (PyJWT
    # reads its own clock, to which the token is still valid).
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 31)
    assert verifier.verify(token) == first
    assert checks == 2


def test_a_refused_token_is_not_remembered() -> None:
    verifier = hs_verifier()
    token = mint_dev_token(secret="another-secret-of-sufficient-length-1234", member_id=MEMBER,
                           org_id=ORG, roles=["rep"])
    for _ in range(2):
        with pytest.raises(InvalidToken):
            verifier.verify(token)


PROD = {"environment": "prod", "jwt_audience": "crm", "jwt_issuer": "https://idp.example/"}


@pytest.mark.parametrize(
    ("settings", "line"),
    [
        ({"environment": "prod"}, "invalid setting CRM_JWT_SECRET: the public development key"),
        ({**PROD}, "invalid setting CRM_JWT_SECRET: the public development key"),
        ({**PROD, "jwt_audience": None, "jwt_secret": "s" * 40},
         "invalid setting CRM_JWT_AUDIENCE"),
        ({**PROD, "jwt_issuer": None, "jwks_url": "https://idp.example/jwks"},
         "invalid setting CRM_JWT_ISSUER"),
        ({"environment": "test", "jwks_url": "https://idp.example/jwks",
          "jwt_algorithms": ["RS256", "HS256"]}, "invalid setting CRM_JWT_ALGORITHMS: HS256"),
    ],
)
def test_unsafe_token_settings_stop_the_process_with_one_line(
    settings: dict[str, object], line: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        TokenVerifier.from_settings(Settings(**settings))  # type: ignore[arg-type]
    message = str(stopped.value)
    assert message.startswith(line) and "\n" not in message


def test_safe_prod_token_settings_start() -> None:
    TokenVerifier.from_settings(Settings(**PROD, jwt_secret="s" * 40))  # type: ignore[arg-type]
    with_jwks = Settings(**PROD, jwks_url="https://idp.example/jwks")  # type: ignore[arg-type]
    TokenVerifier.from_settings(with_jwks)
    assert token_settings_problem(with_jwks) is None
    # The dev key and no audience stay fine outside prod.
    assert token_settings_problem(Settings(environment="test")) is None


def test_a_prod_process_with_the_dev_key_does_not_start() -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    environment.update(CRM_ENVIRONMENT="prod", CRM_DATABASE_URL="postgresql://db.invalid/x",
                       CRM_NATS_URL="nats://nats.invalid:4222")
    started = subprocess.run(
        [sys.executable, "-c", "from crmkit.settings import load_settings; "
         "from services.pipeline import app; app.create_app(load_settings(app.SETTINGS))"],
        env=environment, capture_output=True, text=True, timeout=120, check=False,
    )
    assert started.returncode != 0
    assert started.stderr.strip().splitlines()[-1].startswith(
        "invalid setting CRM_JWT_SECRET"), started.stderr
