"""JSON Web Key Sets of public signing keys, and JWTs verified against them (SPEC §11).

One module for every caller that checks a JWT: a hub's company-signed end-user tokens
(``signingKeys``, registered through the hub API and the admin) and any other issuer whose
keys come as a JWKS. PyJWT does the JOSE work; this module decides what it may be given.

The security argument:

* **Public keys only.** A JWK with a private or symmetric member (``d``, ``p``, ``q``,
  ``dp``, ``dq``, ``qi``, ``oth``, ``k``) is refused at its exact path and never stored:
  a company that pastes its private key learns so at once (and should replace it).
* **Strong keys only**: RSA of 2048 to 4096 bits (public exponent odd, at most 2^32),
  EC on P-256, Ed25519. No ``oct`` key exists here, so no HMAC algorithm can be used.
  Each key is rebuilt with ``cryptography`` from its members (an EC point off the curve,
  a wrong length, non-canonical base64url are refused); only the members that define it
  (and ``kid``, ``alg``, ``use``) are kept.
* **The key picks the algorithm, never the token.** A token's ``alg`` must be one of its
  key's (RSA: RS/PS 256/384/512; P-256: ES256; Ed25519: EdDSA) and, when the JWK names an
  ``alg``, that one: ``none``, ``HS256`` signed with a public key as the secret (algorithm
  confusion) or an EC key used as RSA have nothing to match. PyJWT is handed the single
  algorithm and the ``cryptography`` key object, never a JWK to interpret.
* **Bounded work**: at most :data:`MAX_KEYS` keys of :data:`MAX_KEY_CHARS` each, tokens of
  at most :data:`MAX_TOKEN_CHARS`; ``kid`` looked up in the registered set, nothing fetched
  (``jku``, ``x5u`` and ``jwk`` headers are ignored); ``crit`` and ``b64`` are refused.

Refusals are :class:`TokenRefused` with a stable ``reason`` (for the log) and a message a
developer can act on (for the 401); neither ever contains the token or a key.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from core.validation import Problems, check_list, join

MAX_KEYS = 10
MAX_KEY_CHARS = 4096  # a 4096-bit RSA JWK is about 750 characters
MAX_KID_CHARS = 200
MAX_TOKEN_CHARS = 8192
RSA_MIN_BITS, RSA_MAX_BITS = 2048, 4096
LEEWAY_SECONDS = 60

PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
RSA_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
_KEY_MEMBERS = {"RSA": ("n", "e"), "EC": ("crv", "x", "y"), "OKP": ("crv", "x")}
# Members a JWKS export may carry besides the key's own; kept: kid, alg, use.
_KNOWN = {"kty", "kid", "alg", "use", "key_ops", "x5c", "x5t", "x5t#S256", "iat", "exp", "nbf"}
_KID = re.compile(rf"[\x21-\x7e]{{1,{MAX_KID_CHARS}}}")  # printable ASCII, no spaces
_B64URL = re.compile(r"[A-Za-z0-9_-]+")

PublicKey = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey


# --- Registering keys -----------------------------------------------------------------


def no_keys() -> dict[str, list[Any]]:
    """The empty JWKS."""
    return {"keys": []}


def _b64url(value: Any, path: str, problems: Problems) -> bytes | None:
    """Unpadded base64url (RFC 7515 §2), canonical: what decodes must encode back the same."""
    if not isinstance(value, str) or not value or not _B64URL.fullmatch(value):
        problems.add(path, "Must be unpadded base64url.")
        return None
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        problems.add(path, "Must be unpadded base64url.")
        return None
    if base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != value:
        problems.add(path, "Must be canonical base64url.")
        return None
    return raw


def _rsa(jwk: Mapping[str, Any], path: str, problems: Problems) -> PublicKey | None:
    n = _b64url(jwk.get("n"), join(path, "n"), problems)
    e = _b64url(jwk.get("e"), join(path, "e"), problems)
    if n is None or e is None:
        return None
    modulus, exponent = int.from_bytes(n, "big"), int.from_bytes(e, "big")
    if n[0] == 0:
        problems.add(join(path, "n"), "Must have no leading zero bytes.")
    elif not RSA_MIN_BITS <= modulus.bit_length() <= RSA_MAX_BITS:
        problems.add(
            join(path, "n"),
            f"RSA keys must have {RSA_MIN_BITS} to {RSA_MAX_BITS} bits "
            f"(this one has {modulus.bit_length()}).",
        )
    elif exponent < 3 or exponent % 2 == 0 or exponent > 2**32:
        problems.add(join(path, "e"), "Must be an odd public exponent from 3 to 2^32.")
    else:
        try:
            return rsa.RSAPublicNumbers(exponent, modulus).public_key()
        except ValueError:
            problems.add(path, "Not a valid RSA public key.")
    return None


def _coordinate(jwk: Mapping[str, Any], member: str, path: str, problems: Problems) -> int | None:
    """A 32-byte curve member (P-256's ``x``/``y``, Ed25519's ``x``) as an integer."""
    raw = _b64url(jwk.get(member), join(path, member), problems)
    if raw is not None and len(raw) != 32:
        problems.add(join(path, member), "Must be 32 bytes for this curve.")
        return None
    return None if raw is None else int.from_bytes(raw, "big")


def _ec(jwk: Mapping[str, Any], path: str, problems: Problems) -> PublicKey | None:
    if jwk.get("crv") != "P-256":
        problems.add(join(path, "crv"), "EC keys must be on P-256 (ES256).")
        return None
    x, y = _coordinate(jwk, "x", path, problems), _coordinate(jwk, "y", path, problems)
    if x is None or y is None:
        return None
    try:
        return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()
    except ValueError:
        problems.add(path, "Not a point on P-256.")
        return None


def _okp(jwk: Mapping[str, Any], path: str, problems: Problems) -> PublicKey | None:
    if jwk.get("crv") != "Ed25519":
        problems.add(join(path, "crv"), "OKP keys must be Ed25519 (EdDSA).")
        return None
    x = _coordinate(jwk, "x", path, problems)
    return None if x is None else ed25519.Ed25519PublicKey.from_public_bytes(x.to_bytes(32, "big"))


_BUILDERS = {"RSA": _rsa, "EC": _ec, "OKP": _okp}


def algorithms_for(jwk: Mapping[str, Any]) -> tuple[str, ...]:
    """The JWS algorithms a (validated) public JWK may verify."""
    kty = jwk.get("kty")
    allowed = RSA_ALGORITHMS if kty == "RSA" else ("ES256",) if kty == "EC" else ("EdDSA",)
    alg = jwk.get("alg")
    return (str(alg),) if alg in allowed else allowed


def public_key(jwk: Mapping[str, Any]) -> PublicKey:
    """The ``cryptography`` key of a JWK that :func:`clean_jwk` accepted."""
    problems = Problems()
    key = _BUILDERS[str(jwk["kty"])](jwk, "", problems)
    if key is None:
        raise ValueError("not a key clean_jwk accepts")
    return key


def clean_jwk(value: Any, path: str, problems: Problems) -> dict[str, Any] | None:
    """One public signing key, as stored (its defining members and ``kid``/``alg``/``use``),
    or None with every problem noted at its path (``path.d``, ``path.n``...)."""
    if not isinstance(value, dict):
        problems.add(path, "Must be a JWK object.")
        return None
    before = len(problems.fields)
    for member in PRIVATE_MEMBERS:
        if member in value:
            problems.add(
                join(path, member),
                "A private or symmetric key member: register public keys only (and replace "
                "this key: it has been exposed).",
            )
    if len(problems.fields) > before:
        return None  # never look further into, or echo, a private key
    if len(json.dumps(value)) > MAX_KEY_CHARS:
        problems.add(path, f"Must be at most {MAX_KEY_CHARS} characters as JSON.")
        return None
    kty = value.get("kty")
    if kty not in _BUILDERS:
        problems.add(join(path, "kty"), "Must be RSA, EC (P-256) or OKP (Ed25519).")
        return None
    allowed = _KNOWN | set(_KEY_MEMBERS[kty])
    for member in value:
        if member not in allowed:
            problems.add(join(path, str(member)[:64]), "Unknown JWK member.")
    kid = value.get("kid")
    if not isinstance(kid, str) or not _KID.fullmatch(kid):
        problems.add(
            join(path, "kid"),
            f"Required: 1 to {MAX_KID_CHARS} printable ASCII characters without spaces.",
        )
    if value.get("use", "sig") != "sig":
        problems.add(join(path, "use"), 'Must be "sig".')
    ops = value.get("key_ops", ["verify"])
    if not isinstance(ops, list) or not set(ops) <= {"verify"}:
        problems.add(join(path, "key_ops"), 'Must be ["verify"] (a public key verifies).')
    if _BUILDERS[kty](value, path, problems) is None or len(problems.fields) > before:
        return None
    stored = {"kty": kty, "kid": kid, **{m: value[m] for m in _KEY_MEMBERS[kty]}}
    if "alg" in value:
        if value["alg"] not in algorithms_for({"kty": kty}):
            problems.add(join(path, "alg"), f"Must be one of {', '.join(algorithms_for(stored))}.")
            return None
        stored["alg"] = value["alg"]
    if "use" in value:
        stored["use"] = "sig"
    return stored


def clean_jwks(value: Any, path: str, problems: Problems) -> dict[str, Any] | None:
    """A JWKS ``{"keys": [...]}`` of at most :data:`MAX_KEYS` public signing keys with
    distinct ``kid``s, as stored; ``null`` is ``{"keys": []}``."""
    if value is None:
        return no_keys()
    if not isinstance(value, dict) or set(value) - {"keys"} or "keys" not in value:
        problems.add(path, 'Must be a JWKS: {"keys": [public JWKs]}.')
        return None
    keys_path = join(path, "keys")
    keys = check_list(value["keys"], keys_path, problems, max_items=MAX_KEYS, of="JWKs")
    if keys is None:
        return None
    before = len(problems.fields)
    cleaned: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(keys):
        jwk = clean_jwk(item, join(keys_path, index), problems)
        if jwk is None:
            continue
        if jwk["kid"] in seen:
            problems.add(join(join(keys_path, index), "kid"), "Another key has this kid.")
        seen.add(jwk["kid"])
        cleaned.append(jwk)
    return {"keys": cleaned} if len(problems.fields) == before else None


def published_keys(document: Any) -> list[dict[str, Any]]:
    """The keys of a JWKS someone else publishes (an IdP's ``jwks_uri``) that
    :func:`clean_jwk` accepts, each judged alone: the others (encryption keys, curves,
    sizes or types Patchbay does not take, keys without a ``kid``) are left out instead of
    failing the whole set. Members a published key may carry beyond the ones
    :func:`clean_jwk` knows (Azure's ``issuer``, ``x5c`` chains) are dropped first; a
    private member is kept, so that key is still refused. Of two keys with one ``kid``
    the first is kept."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        return []
    usable: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(document["keys"][: MAX_KEYS * 5]):
        if isinstance(item, dict) and item.get("kty") in _KEY_MEMBERS:
            keep = _KNOWN | set(_KEY_MEMBERS[item["kty"]]) | set(PRIVATE_MEMBERS)
            item = {member: value for member, value in item.items() if member in keep}
        jwk = clean_jwk(item, f"keys[{index}]", Problems())
        if jwk is not None and jwk["kid"] not in seen:
            seen.add(jwk["kid"])
            usable.append(jwk)
    return usable


# --- Verifying tokens -------------------------------------------------------------------


@dataclass
class TokenRefused(Exception):
    """A JWT that is not accepted: ``reason`` for the log, ``message`` for the caller."""

    reason: str
    message: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.message}"


def looks_like_jwt(token: str) -> bool:
    """Three base64url segments (a JWS compact serialisation), cheaply."""
    return token.count(".") == 2 and token.startswith("eyJ")


def _select(header: Mapping[str, Any], keys: Sequence[Mapping[str, Any]]) -> Mapping[str, Any]:
    kid = header.get("kid")
    if kid is None:
        if len(keys) == 1:
            return keys[0]
        raise TokenRefused("no_kid", "The token's header must name its key (kid).")
    if not isinstance(kid, str) or len(kid) > MAX_KID_CHARS:
        raise TokenRefused("bad_kid", "The token's kid is not a registered key id.")
    for jwk in keys:
        if jwk.get("kid") == kid:
            return jwk
    raise TokenRefused("unknown_kid", "No registered key has the token's kid.")


_CLAIM_ERRORS: tuple[tuple[type[Exception], str, str], ...] = (
    (jwt.ExpiredSignatureError, "expired", "The token has expired (exp)."),
    (jwt.ImmatureSignatureError, "not_yet_valid", "The token is not valid yet (nbf or iat)."),
    (jwt.InvalidAudienceError, "wrong_audience", "The token's aud is not this audience."),
    (jwt.InvalidIssuerError, "wrong_issuer", "The token's iss is not the expected issuer."),
    (jwt.InvalidSignatureError, "bad_signature", "The token's signature does not verify."),
)


def jwt_verify(
    token: str,
    keys: Sequence[Mapping[str, Any]],
    *,
    audience: str,
    issuer: str | None = None,
    require: Sequence[str] = ("exp",),
    max_seconds_ahead: int | None = None,
    leeway: int = LEEWAY_SECONDS,
) -> dict[str, Any]:
    """The claims of ``token`` once its signature verifies with one of ``keys`` (JWKs as
    :func:`clean_jwks` stores them) and its registered claims hold: ``aud`` contains
    ``audience``, ``iss`` is ``issuer`` exactly (when given), every claim in ``require`` is
    present, ``exp``/``nbf``/``iat`` hold within ``leeway`` seconds, and ``exp`` is at most
    ``max_seconds_ahead`` (+ leeway) from now when given. Anything else: :class:`TokenRefused`."""
    if not token or len(token) > MAX_TOKEN_CHARS or not token.isascii():
        raise TokenRefused("malformed", "Not a JWT (three base64url segments).")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise TokenRefused("malformed", "Not a JWT (three base64url segments).") from exc
    if "crit" in header or "b64" in header:
        raise TokenRefused("unsupported_header", "Tokens with crit or b64 are not accepted.")
    if not keys:
        raise TokenRefused("no_keys", "No signing keys are registered for this audience.")
    jwk = _select(header, keys)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms_for(jwk):
        raise TokenRefused(
            "algorithm_not_allowed",
            f"The token's alg must be one of {', '.join(algorithms_for(jwk))} for its key.",
        )
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=public_key(jwk),
            algorithms=[alg],
            audience=audience,
            issuer=issuer,
            leeway=leeway,
            options={"require": [*require, *(["iss"] if issuer else [])], "verify_aud": True},
        )
    except jwt.MissingRequiredClaimError as exc:
        raise TokenRefused("missing_claim", f"The token has no {exc.claim} claim.") from exc
    except jwt.PyJWTError as exc:
        for kind, reason, message in _CLAIM_ERRORS:
            if isinstance(exc, kind):
                raise TokenRefused(reason, message) from exc
        raise TokenRefused("invalid", "The token is not valid: " + _safe(exc)) from exc
    if max_seconds_ahead is not None:
        ahead = float(claims["exp"]) - _now()
        if ahead > max_seconds_ahead + leeway:
            raise TokenRefused(
                "exp_too_far",
                f"The token's exp may be at most {max_seconds_ahead // 60} minutes ahead.",
            )
    return claims


def _safe(exc: Exception) -> str:
    """PyJWT's own wording of a claim problem (never containing the token), cut short."""
    return str(exc)[:120]


def _now() -> float:
    return time.time()
