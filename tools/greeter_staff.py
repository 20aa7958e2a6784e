#!/usr/bin/env python3
"""greeter-staff: register, find, correct and erase people through Greeter's registration API.

    .venv/bin/python tools/greeter_staff.py --stack greeter sign-in --email maria@example.com
    .venv/bin/python tools/greeter_staff.py --stack greeter register photo.jpg --name "Ana Lima" \\
        --consent-by "Ana Lima" --consent-version 2026-01
    .venv/bin/python tools/greeter_staff.py --stack greeter list
    .venv/bin/python tools/greeter_staff.py --stack greeter search someone.jpg
    .venv/bin/python tools/greeter_staff.py --stack greeter erase <person id>
    .venv/bin/python tools/greeter_staff.py --stack greeter whoami

What an account may do depends on its role (its group in the stack's user pool): a tablet account can only ask
`whoami`; an assistant registers, finds and corrects people; a manager can also erase. `whoami` says which.

Needs Python 3.10+, boto3 and pycognito (requirements-dev.txt has both). Signing in needs no AWS credentials:
the staff account's email, password and a code from an authenticator app (the first sign-in sets the app up).
The password never leaves this machine: Cognito's SRP sign-in proves it without sending it. --stack reads the
API URL, user pool and client id from the stack's outputs, which does need read access to CloudFormation (or
set GREETER_API_URL, GREETER_USER_POOL_ID and GREETER_CLIENT_ID instead). The ID token is kept, readable by
you only, in ~/.config/greeter/session-<client id>.json and refreshed when it expires.
"""

from __future__ import annotations

import argparse
import base64
import getpass
import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import boto3
from pycognito.aws_srp import AWSSRP

# API Gateway hands the request to Lambda as JSON, at most 6 MB: the API takes photos up to 4,669,440 bytes
# (functions/registration/photos.py's MAX_PHOTO_BYTES; a test keeps the two equal).
MAX_PHOTO_BYTES = 4_669_440
Send = Callable[[str, str, dict, bytes | None], tuple[int, bytes]]


class StaffError(Exception):
    """Something the staff member should read (not a stack trace)."""


# ---------------------------------------------------------------------- signing in (Cognito)
class Session:
    def __init__(
        self, client_id: str, pool_id: str, region: str | None, store: Path | None = None, cognito=None
    ) -> None:
        self.client_id = client_id
        self.pool_id = pool_id
        self.cognito = cognito or boto3.client("cognito-idp", region_name=region)
        self.store = store or Path.home() / ".config" / "greeter" / f"session-{client_id}.json"

    def sign_in(self, email: str, password: str, ask: Callable[[str], str], show: Callable[[str], None]) -> None:
        """SRP sign-in (USER_SRP_AUTH), answering the first-sign-in password change, the authenticator app's
        set-up and its code, as Cognito asks for them."""
        srp = AWSSRP(
            username=email, password=password, pool_id=self.pool_id, client_id=self.client_id, client=self.cognito
        )
        parameters = srp.get_auth_params()
        try:
            answer = self.cognito.initiate_auth(
                ClientId=self.client_id, AuthFlow="USER_SRP_AUTH", AuthParameters=parameters
            )
            while "ChallengeName" in answer:
                challenge = answer["ChallengeName"]
                username = answer.get("ChallengeParameters", {}).get("USERNAME", email)
                session = answer.get("Session")
                if challenge == "PASSWORD_VERIFIER":
                    responses = srp.process_challenge(answer["ChallengeParameters"], parameters)
                elif challenge == "NEW_PASSWORD_REQUIRED":
                    responses = {"NEW_PASSWORD": ask("Choose a new password (12+ characters, upper, lower, digit): ")}
                elif challenge == "MFA_SETUP":
                    session, responses = self._set_up_authenticator(answer, email, ask, show), {}
                elif challenge == "SOFTWARE_TOKEN_MFA":
                    responses = {"SOFTWARE_TOKEN_MFA_CODE": ask("Code from your authenticator app: ")}
                else:
                    raise StaffError(f"this sign-in needs {challenge}, which greeter-staff does not handle")
                request = {"ChallengeName": challenge, "ChallengeResponses": {**responses, "USERNAME": username}}
                answer = self.cognito.respond_to_auth_challenge(
                    ClientId=self.client_id, **request, **({"Session": session} if session else {})
                )
        except self.cognito.exceptions.CodeMismatchException:
            raise StaffError("that code did not match the authenticator app's: sign in again") from None
        except self.cognito.exceptions.NotAuthorizedException as error:
            # Cognito's own wording: wrong password, too many attempts, or a sign-in threat protection blocked.
            raise StaffError(f"sign-in refused: {error.response['Error'].get('Message', 'not authorized')}") from None
        self._save(answer["AuthenticationResult"])

    def _set_up_authenticator(self, answer: dict, email: str, ask: Callable[[str], str], show) -> str:
        """The first sign-in: pair an authenticator app (TOTP) with the account; returns the session to go on with."""
        if "SOFTWARE_TOKEN_MFA" not in str(answer.get("ChallengeParameters", {}).get("MFAS_CAN_SETUP", "")):
            raise StaffError("this account must set up an MFA method greeter-staff does not offer")
        pairing = self.cognito.associate_software_token(Session=answer["Session"])
        secret = pairing["SecretCode"]
        show(
            "Staff accounts need an authenticator app (Google Authenticator, Microsoft Authenticator, 1Password...).\n"
            f"Add an account to it with this key: {secret}\n"
            f"(or from this link: otpauth://totp/Greeter:{email}?secret={secret}&issuer=Greeter)"
        )
        verified = self.cognito.verify_software_token(
            Session=pairing["Session"],
            UserCode=ask("Code the app now shows: "),
            FriendlyDeviceName="greeter-staff",
        )
        return verified["Session"]

    def id_token(self) -> str:
        """A valid ID token: the saved one, or a refreshed one."""
        if not self.store.exists():
            raise StaffError("not signed in: run `greeter-staff sign-in --email <your email>` first")
        saved = json.loads(self.store.read_text())
        if saved["expires_at"] - 60 > time.time():
            return saved["id_token"]
        try:
            result = self.cognito.initiate_auth(
                ClientId=self.client_id,
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": saved["refresh_token"]},
            )["AuthenticationResult"]
        except self.cognito.exceptions.NotAuthorizedException:
            raise StaffError("your session has ended: sign in again") from None
        self._save({**result, "RefreshToken": saved["refresh_token"]})
        return result["IdToken"]

    def sign_out(self) -> None:
        self.store.unlink(missing_ok=True)

    def _save(self, result: dict) -> None:
        self.store.parent.mkdir(parents=True, exist_ok=True)
        saved = {
            "id_token": result["IdToken"],
            "refresh_token": result["RefreshToken"],
            "expires_at": time.time() + result["ExpiresIn"],
        }
        descriptor = os.open(self.store, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump(saved, file)


# ---------------------------------------------------------------------- the API
def _urllib_send(method: str, url: str, headers: dict, body: bytes | None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310 - https only
    try:
        with urllib.request.urlopen(request, timeout=35) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class StaffApi:
    def __init__(self, base_url: str, token: Callable[[], str], send: Send = _urllib_send):
        if not base_url.startswith("https://") and send is _urllib_send:
            raise StaffError("the API URL must start with https://")
        self.base_url = base_url.rstrip("/")
        self.token = token
        self.send = send

    def call(self, method: str, path: str, body: dict | None = None, key: str | None = None) -> dict:
        headers = {"Authorization": self.token(), "Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if key:
            headers["Idempotency-Key"] = key
        data = json.dumps(body).encode() if body is not None else None
        status, raw = self.send(method, f"{self.base_url}{path}", headers, data)
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError:
            answer = {"code": "unexpected_answer", "message": raw[:200].decode(errors="replace")}
        if status >= 400:
            raise ApiRefusal(status, answer)
        return answer


class ApiRefusal(StaffError):
    def __init__(self, status: int, answer: dict):
        self.status, self.code = status, answer.get("code", "error")
        details = [f"{f['field']}: {f['problem']}" for f in answer.get("fields", [])] + answer.get("reasons", [])
        if answer.get("person_id"):
            details.append(f"already registered as {answer['person_id']}")
        text = f"{answer.get('message', 'refused')} [{self.code}, HTTP {status}]"
        if self.code == "forbidden":
            details.append("your account's role does not allow this: `whoami` shows what it does; ask a manager")
        super().__init__(text + "".join(f"\n  - {d}" for d in details))


def read_photo(path: str) -> str:
    data = Path(path).read_bytes()
    if len(data) > MAX_PHOTO_BYTES:
        raise StaffError(
            f"{path} is {len(data):,} bytes; the API takes photos up to {MAX_PHOTO_BYTES:,} bytes (4.45 MiB). "
            "Resize it (about 1600 pixels on the long side is plenty) and try again."
        )
    return base64.b64encode(data).decode()


# ---------------------------------------------------------------------- commands
def run(args: argparse.Namespace, api: StaffApi) -> dict | None:
    if args.command == "register":
        consent_at = args.consent_at or datetime.now(timezone.utc).isoformat(timespec="seconds")  # noqa: UP017
        body = {
            "name": args.name,
            "notes": args.notes,
            "consent": {"given_by": args.consent_by, "given_at": consent_at, "wording_version": args.consent_version},
            "photo": read_photo(args.photo),
        }
        if args.email:
            body["contact_email"] = args.email
        key = args.idempotency_key or str(uuid.uuid4())
        print(f"(if this fails on the way, retry with --idempotency-key {key})", file=sys.stderr)
        return api.call("POST", "/people", body, key)
    if args.command == "add-photo":
        key = args.idempotency_key or str(uuid.uuid4())
        return api.call("POST", f"/people/{args.person_id}/photos", {"photo": read_photo(args.photo)}, key)
    if args.command == "list":
        people, token = [], None
        while True:
            query = f"?limit={args.limit}" + (f"&next_token={token}" if token else "")
            page = api.call("GET", f"/people{query}")
            people += page["people"]
            token = page["next_token"]
            if not token or not args.all:
                return {"people": people, "next_token": token}
    if args.command == "show":
        return api.call("GET", f"/people/{args.person_id}")
    if args.command == "update":
        changes = {field: getattr(args, field) for field in ("name", "notes") if getattr(args, field) is not None}
        if args.email is not None:
            changes["contact_email"] = args.email
        if args.remove_email:
            changes["contact_email"] = None
        return api.call("PATCH", f"/people/{args.person_id}", changes)
    if args.command == "erase":
        if not args.yes and input(f"Erase {args.person_id} everywhere? This cannot be undone. [y/N] ").lower() != "y":
            raise StaffError("not erased")
        return api.call("DELETE", f"/people/{args.person_id}")
    if args.command == "search":
        return api.call("POST", "/search", {"photo": read_photo(args.photo)})
    if args.command == "whoami":
        return api.call("GET", "/me")
    raise StaffError(f"unknown command {args.command}")


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="greeter-staff", description=__doc__.split("\n\n")[0])
    cli.add_argument("--stack", help="stack name: reads the API URL and client id from its outputs")
    cli.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"))
    commands = cli.add_subparsers(dest="command", required=True)
    sign_in = commands.add_parser("sign-in", help="sign in with your staff account")
    sign_in.add_argument("--email", required=True)
    commands.add_parser("sign-out", help="forget the saved session")
    register = commands.add_parser("register", help="register a person who gave consent, from a photo file")
    register.add_argument("photo", help="JPEG or PNG showing only this person's face, front on, well lit")
    register.add_argument("--name", required=True)
    register.add_argument("--notes", default="")
    register.add_argument("--email", help="the person's contact email (optional)")
    register.add_argument("--consent-by", required=True, help="who gave consent, as they signed")
    register.add_argument("--consent-at", help="when (ISO 8601 with time zone); default now")
    register.add_argument("--consent-version", required=True, help="version of the consent wording, e.g. 2026-01")
    register.add_argument("--idempotency-key", help="retry a registration that failed on the way")
    add_photo = commands.add_parser("add-photo", help="add another photo of a registered person")
    add_photo.add_argument("person_id")
    add_photo.add_argument("photo")
    add_photo.add_argument("--idempotency-key")
    listing = commands.add_parser("list", help="list registered people")
    listing.add_argument("--limit", type=int, default=25)
    listing.add_argument("--all", action="store_true", help="follow every page")
    show = commands.add_parser("show", help="one person, with links to their photos (valid 5 minutes)")
    show.add_argument("person_id")
    update = commands.add_parser("update", help="correct name, notes or contact email")
    update.add_argument("person_id")
    update.add_argument("--name")
    update.add_argument("--notes")
    update.add_argument("--email")
    update.add_argument("--remove-email", action="store_true")
    erase = commands.add_parser("erase", help="erase a person everywhere (faces, photos, record); audited")
    erase.add_argument("person_id")
    erase.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    commands.add_parser("whoami", help="your account, its role and what the role may do")
    search = commands.add_parser("search", help="who is in this photo?")
    search.add_argument("photo")
    return cli


def _stack_outputs(stack: str, region: str | None) -> dict[str, str]:
    outputs = boto3.client("cloudformation", region_name=region).describe_stacks(StackName=stack)["Stacks"][0]
    return {output["OutputKey"]: output["OutputValue"] for output in outputs.get("Outputs", [])}


def main(
    argv: list[str] | None = None, send: Send = _urllib_send, cognito=None, store: Path | None = None, out=None
) -> int:
    out = out or sys.stdout
    args = parser().parse_args(argv)
    try:
        settings = {
            "RegistrationApiUrl": os.environ.get("GREETER_API_URL"),
            "StaffUserPoolId": os.environ.get("GREETER_USER_POOL_ID"),
            "StaffUserPoolClientId": os.environ.get("GREETER_CLIENT_ID"),
        }
        if args.stack:
            settings.update(_stack_outputs(args.stack, args.region))
        if not all(settings.values()):
            raise StaffError("give --stack <name>, or set GREETER_API_URL, GREETER_USER_POOL_ID and GREETER_CLIENT_ID")
        session = Session(
            settings["StaffUserPoolClientId"], settings["StaffUserPoolId"], args.region, store=store, cognito=cognito
        )
        if args.command == "sign-in":
            show = lambda text: print(text, file=sys.stderr)  # noqa: E731 - prompts stay off stdout (the JSON)
            session.sign_in(args.email, getpass.getpass("Password: "), ask=getpass.getpass, show=show)
            print("signed in", file=out)
            return 0
        if args.command == "sign-out":
            session.sign_out()
            return 0
        answer = run(args, StaffApi(settings["RegistrationApiUrl"], session.id_token, send))
        print(json.dumps(answer, indent=2), file=out)
        return 0
    except StaffError as error:
        print(f"greeter-staff: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
