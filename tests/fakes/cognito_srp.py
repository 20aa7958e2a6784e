"""Cognito's side of the SRP sign-in, which moto answers without checking: moto's PASSWORD_VERIFIER challenge
carries random SALT and SRP_B values and it accepts any password claim. `SrpVerifier` sits on a cognito-idp
client in front of moto and plays the server of SRP-6a (RFC 5054's 3072-bit group, Cognito's derivation of the
password key): it swaps in a real salt and B for the user's current password, then checks the client's
PASSWORD_CLAIM_SIGNATURE and refuses a wrong one with NotAuthorizedException, as Cognito does. It follows
password changes made through NEW_PASSWORD_REQUIRED."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# RFC 5054 appendix A, the 3072-bit group (g = 2), which Cognito uses.
N = int(
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
G = 2


def _padded_hex(value: int | str) -> str:
    """Cognito's hex form of a big number: even length, and a leading 00 when the top bit is set."""
    text = value if isinstance(value, str) else format(value, "x")
    text = text if len(text) % 2 == 0 else "0" + text
    return "00" + text if text[0] in "89abcdefABCDEF" else text


def _hash_hex(hex_text: str) -> int:
    return int(hashlib.sha256(bytes.fromhex(hex_text)).hexdigest(), 16)


K = _hash_hex(_padded_hex(N) + _padded_hex(G))


class SrpVerifier:
    def __init__(self, cognito, pool_id: str, passwords: dict[str, str]):
        self._cognito = cognito
        self._pool_name = pool_id.split("_", 1)[1]
        self.passwords = dict(passwords)  # username as signed in with (the email) -> current password
        self._signed_in_as: dict[str, str] = {}  # Cognito's internal username -> the one signed in with
        self._sent: dict = {}
        self._pending: dict[str, dict] = {}  # SECRET_BLOCK -> the exchange's server values
        self.claims_checked = 0
        events = cognito.meta.events
        events.register("provide-client-params.cognito-idp.*", self._remember_request)
        events.register("after-call.cognito-idp.InitiateAuth", self._serve_challenge)
        events.register("provide-client-params.cognito-idp.RespondToAuthChallenge", self._check_claim)

    def _remember_request(self, params: dict, model, **_) -> None:
        self._sent = {"operation": model.name, **params}
        responses = params.get("ChallengeResponses", {})
        if params.get("ChallengeName") == "NEW_PASSWORD_REQUIRED" and "NEW_PASSWORD" in responses:
            username = responses["USERNAME"]
            self.passwords[self._signed_in_as.get(username, username)] = responses["NEW_PASSWORD"]

    def _verifier(self, user_id: str, username: str, salt: str) -> tuple[int, int]:
        password = self.passwords[self._signed_in_as.get(username, username)]
        identity = hashlib.sha256(f"{self._pool_name}{user_id}:{password}".encode()).hexdigest()
        x = _hash_hex(_padded_hex(salt) + identity)
        return x, pow(G, x, N)

    def _serve_challenge(self, parsed: dict, **_) -> None:
        if parsed.get("ChallengeName") != "PASSWORD_VERIFIER" or self._sent.get("AuthFlow") != "USER_SRP_AUTH":
            return
        parameters = parsed["ChallengeParameters"]
        self._signed_in_as[parameters["USERNAME"]] = self._sent["AuthParameters"]["USERNAME"]
        salt = secrets.token_hex(16)
        _, v = self._verifier(parameters["USER_ID_FOR_SRP"], parameters["USERNAME"], salt)
        b = secrets.randbelow(N - 1) + 1
        big_b = (K * v + pow(G, b, N)) % N
        a = int(self._sent["AuthParameters"]["SRP_A"], 16)
        assert a % N != 0, "SRP_A must not be 0 mod N"
        parameters.update(SALT=salt, SRP_B=format(big_b, "x"))
        self._pending[parameters["SECRET_BLOCK"]] = {"salt": salt, "b": b, "B": big_b, "A": a, **parameters}

    def _check_claim(self, params: dict, **_) -> None:
        if params.get("ChallengeName") != "PASSWORD_VERIFIER":
            return
        responses = params["ChallengeResponses"]
        exchange = self._pending.pop(responses["PASSWORD_CLAIM_SECRET_BLOCK"])
        _, v = self._verifier(exchange["USER_ID_FOR_SRP"], exchange["USERNAME"], exchange["salt"])
        u = _hash_hex(_padded_hex(exchange["A"]) + _padded_hex(exchange["B"]))
        shared = pow(exchange["A"] * pow(v, u, N), exchange["b"], N)
        # HKDF-SHA256, one block, Cognito's info string; 16 bytes of key.
        prk = hmac.new(bytes.fromhex(_padded_hex(u)), bytes.fromhex(_padded_hex(shared)), hashlib.sha256).digest()
        key = hmac.new(prk, b"Caldera Derived Key\x01", hashlib.sha256).digest()[:16]
        message = (
            self._pool_name.encode()
            + exchange["USER_ID_FOR_SRP"].encode()
            + base64.b64decode(responses["PASSWORD_CLAIM_SECRET_BLOCK"])
            + responses["TIMESTAMP"].encode()
        )
        expected = base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()
        self.claims_checked += 1
        if not hmac.compare_digest(expected, responses["PASSWORD_CLAIM_SIGNATURE"]):
            error = {"Error": {"Code": "NotAuthorizedException", "Message": "Incorrect username or password."}}
            raise self._cognito.exceptions.NotAuthorizedException(error, "RespondToAuthChallenge")
