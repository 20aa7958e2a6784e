"""The staff CLI (tools/greeter_staff.py) against the stack: an administrator-created account signs in with SRP
(changing its temporary password and pairing an authenticator app), then registers from a photo file, lists,
shows, searches and erases. Requests go to the real handler as API Gateway would pass them, with the claims of
the ID token Cognito (moto, checking the authenticator codes) issued."""

import base64
import io
import json
import re
import sys
import time
import urllib.parse
from pathlib import Path

import boto3
import pytest
from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP
from fakes.cognito_srp import SrpVerifier

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import greeter_staff  # noqa: E402

EMAIL, TEMPORARY, CHOSEN = "maria@example.com", "Temporary-Passw0rd", "Chosen-Passw0rd-2026"
RESOURCES = {1: "/people", 2: "/people/{person_id}", 3: "/people/{person_id}/photos"}


class AuthenticatorApp:
    """The staff member's phone: pairs with the key the CLI shows, then shows the current six-digit code."""

    def __init__(self, capsys):
        self.capsys = capsys
        self.key: str | None = None
        self.shown = ""

    def code(self) -> str:
        if self.key is None:
            self.shown = self.capsys.readouterr().err
            self.key = re.search(r"with this key: (\S+)", self.shown).group(1)
        padded = self.key + "=" * (-len(self.key) % 8)
        totp = TOTP(base64.b32decode(padded, casefold=True), 6, SHA1(), 30, enforce_key_length=False)
        return totp.generate(time.time()).decode()


@pytest.fixture
def app(capsys) -> AuthenticatorApp:
    return AuthenticatorApp(capsys)


def _claims(id_token: str) -> dict:
    payload = id_token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    # API Gateway passes every claim as a string, a list (cognito:groups) comma-separated
    return {name: ",".join(value) if isinstance(value, list) else str(value) for name, value in claims.items()}


@pytest.fixture
def staff(api, tmp_path, monkeypatch):
    """Run the CLI as the staff member: `staff("list")` returns (exit code, parsed stdout)."""
    cognito = boto3.client("cognito-idp")
    pool, client_id = api.stack.ref("StaffUserPool"), api.stack.ref("StaffUserPoolClient")
    cognito.admin_create_user(
        UserPoolId=pool,
        Username=EMAIL,
        TemporaryPassword=TEMPORARY,
        UserAttributes=[{"Name": "email", "Value": EMAIL}, {"Name": "email_verified", "Value": "true"}],
    )
    cognito.admin_add_user_to_group(UserPoolId=pool, Username=EMAIL, GroupName="manager")
    monkeypatch.setenv("GREETER_API_URL", "https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/v1")
    monkeypatch.setenv("GREETER_CLIENT_ID", client_id)
    monkeypatch.setenv("GREETER_USER_POOL_ID", pool)
    monkeypatch.setenv("MOTO_COGNITO_IDP_USER_POOL_ENABLE_TOTP", "true")  # moto checks the codes
    store = tmp_path / "session.json"
    # moto accepts any SRP password claim: this plays Cognito's side of SRP and refuses a wrong password.
    srp = SrpVerifier(cognito, pool, {EMAIL: TEMPORARY})
    requests = []  # every Cognito request the CLI makes, as sent
    cognito.meta.events.register(
        "provide-client-params.cognito-idp.*", lambda params, model, **_: requests.append((model.name, params))
    )

    def send(method, url, headers, body):
        parsed = urllib.parse.urlparse(url)
        path = parsed.path.removeprefix("/v1")
        parts = path.strip("/").split("/")
        event = api.event("get-person")
        event.update(
            httpMethod=method,
            path=path,
            resource=f"/{parts[0]}" if parts in (["search"], ["me"]) else RESOURCES[len(parts)],
            pathParameters={"person_id": parts[1]} if len(parts) > 1 and parts[0] == "people" else None,
            queryStringParameters=dict(urllib.parse.parse_qsl(parsed.query)) or None,
            headers=headers,
            multiValueHeaders={k: [v] for k, v in headers.items()},
            body=body.decode() if body else None,
        )
        event["requestContext"]["authorizer"]["claims"] = _claims(headers["Authorization"])
        response = api.module.lambda_handler(event, api.context)
        return response["statusCode"], response["body"].encode()

    def run(*argv, answers=()):
        prompts = iter(answers)  # a callable answer is asked when its prompt comes (the authenticator's code)
        monkeypatch.setattr("getpass.getpass", lambda prompt="": (lambda a: a() if callable(a) else a)(next(prompts)))
        out = io.StringIO()
        code = greeter_staff.main(list(argv), send=send, cognito=cognito, store=store, out=out)
        run.printed = json.loads(out.getvalue()) if out.getvalue().startswith("{") else out.getvalue()
        return code

    def become(role: str) -> None:
        """A manager changes this account's role (it shows with the next sign-in)."""
        for group in cognito.admin_list_groups_for_user(UserPoolId=pool, Username=EMAIL)["Groups"]:
            cognito.admin_remove_user_from_group(UserPoolId=pool, Username=EMAIL, GroupName=group["GroupName"])
        cognito.admin_add_user_to_group(UserPoolId=pool, Username=EMAIL, GroupName=role)

    run.store, run.become, run.requests, run.srp = store, become, requests, srp
    return run


def test_staff_sign_in_register_find_and_erase_from_the_command_line(staff, app, photos, everything, tmp_path):
    assert staff("sign-in", "--email", EMAIL, answers=[TEMPORARY, CHOSEN, app.code]) == 0
    assert staff.store.stat().st_mode & 0o777 == 0o600
    photo = tmp_path / "eileen.jpg"
    photo.write_bytes(photos.astronaut)

    code = staff(
        "register",
        str(photo),
        "--name",
        "Eileen Collins",
        "--consent-by",
        "Eileen Collins",
        "--consent-version",
        "2026-01",
        "--email",
        "eileen@example.com",
    )
    person = staff.printed
    claims = _claims(json.loads(staff.store.read_text())["id_token"])
    signed_in_as = claims.get("email") or claims["cognito:username"]  # moto's ID tokens carry no email claim
    assert code == 0 and person["consent"]["recorded_by"] == signed_in_as

    assert staff("list") == 0
    assert [p["person_id"] for p in staff.printed["people"]] == [person["person_id"]]
    assert staff("show", person["person_id"]) == 0
    assert len(staff.printed["photo_links"]) == 1
    other = tmp_path / "again.jpg"
    other.write_bytes(photos.astronaut_flipped)
    assert staff("search", str(other)) == 0
    assert staff.printed["matches"][0]["person_id"] == person["person_id"]
    assert staff("update", person["person_id"], "--notes", "Window fitting room", "--remove-email") == 0
    assert staff.printed["contact_email"] is None

    assert staff("erase", person["person_id"], "--yes") == 0
    assert staff.printed["erased_by"] == signed_in_as
    left = everything()
    assert not (left.people or left.faces or left.photo_versions) and len(left.audit) == 1


def test_the_cli_explains_refusals_and_oversized_photos(staff, app, photos, tmp_path, capsys):
    staff("sign-in", "--email", EMAIL, answers=[TEMPORARY, CHOSEN, app.code])
    coffee = tmp_path / "coffee.jpg"
    coffee.write_bytes(photos.coffee)
    assert staff("register", str(coffee), "--name", "X", "--consent-by", "X", "--consent-version", "1") == 1
    assert "[no_face, HTTP 422]" in capsys.readouterr().err
    big = tmp_path / "big.png"
    big.write_bytes(photos.too_large)
    assert staff("search", str(big)) == 1
    assert "Resize it" in capsys.readouterr().err


def test_without_signing_in_the_cli_says_so(staff, capsys):
    assert staff("list") == 1
    assert "not signed in" in capsys.readouterr().err


def test_signing_in_pairs_an_authenticator_once_then_asks_for_its_code(staff, app, capsys):
    assert staff("sign-in", "--email", EMAIL, answers=[TEMPORARY, CHOSEN, app.code]) == 0
    assert f"otpauth://totp/Greeter:{EMAIL}?secret={app.key}&issuer=Greeter" in app.shown
    assert staff("sign-out") == 0 and not staff.store.exists()

    assert staff("sign-in", "--email", EMAIL, answers=[CHOSEN, app.code]) == 0
    assert "with this key" not in capsys.readouterr().err  # paired already: no new key shown
    challenges = [p.get("ChallengeName") for name, p in staff.requests if name == "RespondToAuthChallenge"]
    assert challenges[-2:] == ["PASSWORD_VERIFIER", "SOFTWARE_TOKEN_MFA"]
    assert staff("list") == 0


def test_a_wrong_authenticator_code_signs_nobody_in(staff, app, capsys):
    assert staff("sign-in", "--email", EMAIL, answers=[TEMPORARY, CHOSEN, app.code]) == 0
    staff("sign-out")
    assert staff("sign-in", "--email", EMAIL, answers=[CHOSEN, "000000" if app.code() != "000000" else "111111"]) == 1
    assert "did not match" in capsys.readouterr().err
    assert not staff.store.exists()


def test_sign_in_uses_srp_and_never_sends_the_password(staff, app):
    assert staff("sign-in", "--email", EMAIL, answers=[TEMPORARY, CHOSEN, app.code]) == 0
    staff("sign-out")
    assert staff("sign-in", "--email", EMAIL, answers=[CHOSEN, app.code]) == 0
    flows = [p["AuthFlow"] for name, p in staff.requests if name == "InitiateAuth"]
    assert flows == ["USER_SRP_AUTH", "USER_SRP_AUTH"]
    sent = json.dumps([p for _, p in staff.requests])
    # The temporary password is answered once, as Cognito's NEW_PASSWORD_REQUIRED wants the new one; the
    # chosen password itself is only ever sent as that new password, never to sign in.
    assert TEMPORARY not in sent and sent.count(CHOSEN) == 1


def test_a_wrong_password_is_refused_by_the_srp_proof(staff, app, capsys):
    assert staff("sign-in", "--email", EMAIL, answers=[TEMPORARY, CHOSEN, app.code]) == 0
    staff("sign-out")
    assert staff("sign-in", "--email", EMAIL, answers=["Chosen-Passw0rd-2025", app.code]) == 1
    assert "sign-in refused: Incorrect username or password." in capsys.readouterr().err
    assert not staff.store.exists()
    assert staff("sign-in", "--email", EMAIL, answers=[CHOSEN, app.code]) == 0
    assert staff.srp.claims_checked == 3  # the first sign-in (temporary password), the wrong one, the right one


def test_the_cli_follows_the_accounts_role(staff, app, photos, tmp_path, capsys, everything):
    staff.become("tablet")
    staff("sign-in", "--email", EMAIL, answers=[TEMPORARY, CHOSEN, app.code])
    assert staff("whoami") == 0
    assert staff.printed["role"] == "tablet" and "GET /people" not in staff.printed["routes"]
    photo = tmp_path / "eileen.jpg"
    photo.write_bytes(photos.astronaut)
    assert staff("register", str(photo), "--name", "E", "--consent-by", "E", "--consent-version", "1") == 1
    error = capsys.readouterr().err
    assert "[forbidden, HTTP 403]" in error and "whoami" in error
    assert staff("list") == 1
    assert everything().nothing


def test_the_cli_and_the_api_agree_on_the_photo_limit(api):
    from photos import MAX_PHOTO_BYTES

    assert greeter_staff.MAX_PHOTO_BYTES == MAX_PHOTO_BYTES
