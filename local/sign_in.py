"""Staff sign-in against the local user pool, as the staff app and CLI sign in against Cognito.

`sign_in` uses the flow the template's app client allows (Secure Remote Password when ALLOW_USER_SRP_AUTH
is there, else USER_PASSWORD_AUTH) and answers the challenges Cognito may ask: the SRP password claim, the
TOTP code of an authenticator app (SOFTWARE_TOKEN_MFA), setting up that app on a first sign-in when the
pool requires MFA (MFA_SETUP). `create_staff_account` makes the first staff account the local runtime
prints at start-up, its authenticator set up when the pool wants one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from local.stack import Stack

# RFC 5054's 3072-bit group, the one Cognito's SRP uses (generator 2).
_N = int(
    "FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DD"
    "EF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6F406B7ED"
    "EE386BFB5A899FA5AE9F24117C4B1FE649286651ECE45B3DC2007CB8A163BF0598DA48361C55D39A69163FA8FD24CF5F"
    "83655D23DCA3AD961C62F356208552BB9ED529077096966D670C354E4ABC9804F1746C08CA18217C32905E462E36CE3B"
    "E39E772C180E86039B2783A2EC07A28FB5C55DF06F4C52C9DE2BCBF6955817183995497CEA956AE515D2261898FA0510"
    "15728E5A8AAAC42DAD33170D04507A33A85521ABDF1CBA64ECFB850458DBEF0A8AEA71575D060C7DB3970F85A6E1E4C7"
    "ABF5AE8CDB0933D71E8C94E04A25619DCEE3D2261AD2EE6BF12FFA06D98A0864D87602733EC86A64521F2B18177B200C"
    "BBE117577A615D6C770988C0BAD946E208E24FA074E5AB3143DB5BFCE0FD108E4B82D120A93AD2CAFFFFFFFFFFFFFFFF",
    16,
)
_G = 2


@dataclass
class StaffAccount:
    """A staff sign-in: email, password, and the authenticator (TOTP) key when the pool asks for a code."""

    email: str
    password: str
    totp_secret: str | None = None


def totp(secret: str, at: float | None = None) -> str:
    """The 6-digit code an authenticator app shows for a base32 secret (RFC 6238: SHA-1, 30 s)."""
    key = base64.b32decode(secret.upper() + "=" * (-len(secret) % 8))
    counter = struct.pack(">Q", int((time.time() if at is None else at) // 30))
    digest = hmac.new(key, counter, hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return f"{(struct.unpack('>I', digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000:06d}"


def _hex_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest().rjust(64, "0")


def _pad_hex(value: int | str) -> str:
    text = value if isinstance(value, str) else f"{value:x}"
    text = "0" + text if len(text) % 2 else text
    return "00" + text if text[0] in "89abcdefABCDEF" else text


def _hash_ints(*values: int | str) -> int:
    return int(_hex_hash(bytes.fromhex("".join(_pad_hex(v) for v in values))), 16)


class _Srp:
    """The client side of Cognito's SRP: the A value, then the password claim signature."""

    def __init__(self, pool_id: str) -> None:
        self.pool_name = pool_id.split("_", 1)[1]
        self.a = int.from_bytes(os.urandom(128), "big") % _N
        self.A = pow(_G, self.a, _N)
        self.k = _hash_ints(_N, _G)

    def claim(self, parameters: dict, password: str) -> dict[str, str]:
        user_id = parameters["USER_ID_FOR_SRP"]
        B = int(parameters["SRP_B"], 16)
        u = _hash_ints(self.A, B)
        identity = hashlib.sha256(f"{self.pool_name}{user_id}:{password}".encode()).hexdigest()
        x = int(_hex_hash(bytes.fromhex(_pad_hex(parameters["SALT"]) + identity)), 16)
        S = pow(B - self.k * pow(_G, x, _N), self.a + u * x, _N)
        prk = hmac.new(bytes.fromhex(_pad_hex(u)), bytes.fromhex(_pad_hex(S)), hashlib.sha256).digest()
        key = hmac.new(prk, b"Caldera Derived Key\x01", hashlib.sha256).digest()[:16]
        timestamp = datetime.now(UTC).strftime("%a %b %-d %H:%M:%S UTC %Y")
        message = (
            self.pool_name.encode()
            + user_id.encode()
            + _secret_block_bytes(parameters["SECRET_BLOCK"])
            + timestamp.encode()
        )
        signature = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
        return {
            "USERNAME": user_id,
            "TIMESTAMP": timestamp,
            "PASSWORD_CLAIM_SECRET_BLOCK": parameters["SECRET_BLOCK"],
            "PASSWORD_CLAIM_SIGNATURE": signature,
        }


def sign_in(
    cognito: Any, pool_id: str, client_id: str, username: str, password: str, totp_secret: str | None = None
) -> dict:
    """Sign in; Cognito's AuthenticationResult (IdToken, AccessToken, RefreshToken...)."""
    flows = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)["UserPoolClient"].get(
        "ExplicitAuthFlows", []
    )
    srp = _Srp(pool_id) if "ALLOW_USER_SRP_AUTH" in flows else None
    if srp is not None:
        answer = cognito.initiate_auth(
            ClientId=client_id, AuthFlow="USER_SRP_AUTH", AuthParameters={"USERNAME": username, "SRP_A": f"{srp.A:x}"}
        )
    else:
        answer = cognito.initiate_auth(
            ClientId=client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
    for _ in range(5):
        if "AuthenticationResult" in answer:
            return answer["AuthenticationResult"]
        challenge = answer["ChallengeName"]
        parameters = answer.get("ChallengeParameters", {})
        responses = {"USERNAME": parameters.get("USERNAME", username)}
        if challenge == "PASSWORD_VERIFIER" and srp is not None:
            responses = srp.claim(parameters, password)
        elif challenge == "SOFTWARE_TOKEN_MFA":
            if not totp_secret:
                raise RuntimeError(f"{username} needs a code from an authenticator app, and no TOTP secret was given")
            responses["SOFTWARE_TOKEN_MFA_CODE"] = totp(totp_secret)
        elif challenge == "MFA_SETUP":
            raise RuntimeError(f"{username} must set up an authenticator app first (create_staff_account does)")
        else:
            raise RuntimeError(f"sign-in asks for {challenge}, which the local sign-in does not answer")
        answer = cognito.respond_to_auth_challenge(
            ClientId=client_id, ChallengeName=challenge, Session=answer.get("Session", ""), ChallengeResponses=responses
        )
    raise RuntimeError("sign-in did not finish")


def _secret_block_bytes(text: str) -> bytes:
    """Cognito's SECRET_BLOCK is base64 (signed decoded); moto's is a plain session id (signed as it is)."""
    try:
        return base64.b64decode(text, validate=True)
    except ValueError:
        return text.encode()


def create_staff_account(stack: Stack, email: str, password: str) -> StaffAccount:
    """The first staff account: a confirmed user with a permanent password, and an authenticator app (TOTP)
    set up when the pool asks for MFA."""
    cognito = stack.client("cognito-idp")
    pool_id = stack.ref("StaffUserPool")
    client_id = stack.ref("StaffUserPoolClient")
    cognito.admin_create_user(
        UserPoolId=pool_id,
        Username=email,
        UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"}],
        MessageAction="SUPPRESS",
    )
    cognito.admin_set_user_password(UserPoolId=pool_id, Username=email, Password=password, Permanent=True)
    mfa = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"].get("MfaConfiguration", "OFF")
    if mfa == "OFF":
        return StaffAccount(email, password)
    tokens = cognito.admin_initiate_auth(
        UserPoolId=pool_id,
        ClientId=client_id,
        AuthFlow="ADMIN_USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": password},
    )
    if "AuthenticationResult" in tokens:
        access_token = tokens["AuthenticationResult"]["AccessToken"]
        secret = cognito.associate_software_token(AccessToken=access_token)["SecretCode"]
        cognito.verify_software_token(AccessToken=access_token, UserCode=totp(secret), FriendlyDeviceName="local")
        cognito.set_user_mfa_preference(
            AccessToken=access_token, SoftwareTokenMfaSettings={"Enabled": True, "PreferredMfa": True}
        )
    else:  # MFA_SETUP: the pool wants the app before it hands out tokens
        session = cognito.associate_software_token(Session=tokens["Session"])
        secret = session["SecretCode"]
        verified = cognito.verify_software_token(Session=session["Session"], UserCode=totp(secret))
        cognito.respond_to_auth_challenge(
            ClientId=client_id,
            ChallengeName="MFA_SETUP",
            Session=verified.get("Session", session["Session"]),
            ChallengeResponses={"USERNAME": email},
        )
    return StaffAccount(email, password, secret)
