"""Verifying JSON Web Tokens against a JWKS, with PyJWT: the one place that does.

Two callers share it: internal consumers' id_tokens from the IdP
(``organisations.idp``, SPEC §11) and end-user tokens a company signs for its hub's
widget. Both hand in a key set they fetched or stored; nothing here does I/O.

The security argument:

* **Asymmetric algorithms only** (:data:`ASYMMETRIC_ALGORITHMS`). ``none`` and the HS*
  family are refused from the header before any key is looked at, so a token "signed"
  with a public key as an HMAC secret (algorithm confusion) never reaches a verifier;
  PyJWT is then told the one algorithm the header named, and that algorithm must fit
  the key's type (an RSA key verifies RS*/PS*, a P-256 key ES256 ...) and the key's own
  ``alg`` when it has one.
* The header's ``jku``, ``x5u``, ``jwk`` and ``x5c`` are never used: keys come only from
  the key set the caller trusts. A ``crit`` header is refused (nothing here understands
  an extension). The ``kid`` is an opaque short string used only as a dictionary key:
  at most :data:`MAX_KID_LENGTH` printable characters, never ``..``.
* A token longer than :data:`MAX_TOKEN_LENGTH` is refused before it is decoded.
* Key sets are validated when parsed: RSA at least 2048 bits, EC on P-256/P-384,
  Ed25519; private members (``d``, ``p`` ...) refused, symmetric keys refused.
* Claims: ``exp`` required, ``nbf`` and ``iat`` checked, each with the caller's leeway
  (60 s by default); ``iss`` compared exactly (no trailing-slash or case folding);
  ``aud`` must contain the audience.

Refusals are :class:`TokenRejected` with a ``reason`` id for the log and a message for
the caller; neither ever contains the token.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"}
)
MAX_TOKEN_LENGTH = 16_384
MAX_KID_LENGTH = 256
MIN_RSA_BITS = 2048
DEFAULT_LEEWAY_SECONDS = 60
# Members only a private (or symmetric) JWK has (RFC 7518 §6.2.2, §6.3.2, §6.4).
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_KID = re.compile(r"[\x21-\x7e]+")
_RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
_CURVE_ALGORITHMS = {"P-256": "ES256", "P-384": "ES384", "Ed25519": "EdDSA"}


class TokenRejected(Exception):
    """A token that must not be accepted. ``reason`` is a stable id for the operator's log
    (``malformed``, ``algorithm``, ``kid``, ``unknown_kid``, ``signature``, ``expired``,
    ``not_yet_valid``, ``issuer``, ``audience``, ``missing_claim``, ``claims``);
    ``message`` is what the caller is told."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class KeySetInvalid(ValueError):
    """A JWKS that cannot be used as given; ``field`` points into it (``keys[1].kty``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class SigningKey:
    """One public key of a key set, and the algorithms it may verify."""

    kid: str | None
    algorithms: frozenset[str]
    key: Any  # a cryptography public key


@dataclass(frozen=True)
class KeySet:
    keys: tuple[SigningKey, ...] = ()
    by_kid: dict[str, SigningKey] = field(default_factory=dict, compare=False)

    def find(self, kid: str | None) -> SigningKey | None:
        """The key a token's ``kid`` names; a token without ``kid`` only matches a key set
        of exactly one key."""
        if kid is None:
            return self.keys[0] if len(self.keys) == 1 else None
        return self.by_kid.get(kid)

    @property
    def kids(self) -> frozenset[str]:
        return frozenset(self.by_kid)


def looks_like_jwt(token: str) -> bool:
    """Cheap: a compact JWS has exactly two dots (an API key has none)."""
    return token.count(".") == 2


def _key_algorithms(jwk: dict[str, Any], public: Any, where: str) -> frozenset[str]:
    if isinstance(public, rsa.RSAPublicKey):
        if public.key_size < MIN_RSA_BITS:
            raise KeySetInvalid(f"{where}.n", f"RSA keys must have at least {MIN_RSA_BITS} bits.")
        allowed = _RSA_ALGORITHMS
    elif isinstance(public, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        curve = jwk.get("crv")
        if curve not in _CURVE_ALGORITHMS:
            raise KeySetInvalid(f"{where}.crv", "Only P-256, P-384 and Ed25519 are accepted.")
        allowed = frozenset({_CURVE_ALGORITHMS[curve]})
    else:
        raise KeySetInvalid(f"{where}.kty", "Only RSA, EC and OKP (Ed25519) keys are accepted.")
    declared = jwk.get("alg")
    if declared is None:
        return allowed
    if declared not in allowed:
        raise KeySetInvalid(f"{where}.alg", f"{str(declared)[:20]!r} does not fit this key.")
    return frozenset({declared})


def parse_key(jwk: object, where: str = "key") -> SigningKey:
    """One public signing JWK, validated (see the module docstring); else :class:`KeySetInvalid`."""
    if not isinstance(jwk, dict):
        raise KeySetInvalid(where, "Each key must be a JSON object.")
    private = sorted(PRIVATE_MEMBERS & jwk.keys())
    if private:
        raise KeySetInvalid(
            f"{where}.{private[0]}", "Only public keys are accepted: remove the private members."
        )
    if jwk.get("kty") not in ("RSA", "EC", "OKP"):
        raise KeySetInvalid(f"{where}.kty", "Only RSA, EC and OKP (Ed25519) keys are accepted.")
    if jwk.get("use", "sig") != "sig":
        raise KeySetInvalid(f"{where}.use", "Only signing keys (use: sig) are accepted.")
    kid = jwk.get("kid")
    if kid is not None and not valid_kid(kid):
        raise KeySetInvalid(f"{where}.kid", "A kid is a short string of printable characters.")
    try:
        # No algorithm given: PyJWT picks one from kty/crv; the key object is all we keep.
        public = jwt.PyJWK(jwk).key
    except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError) as exc:
        raise KeySetInvalid(where, "Not a usable public key.") from exc
    return SigningKey(kid=kid, algorithms=_key_algorithms(jwk, public, where), key=public)


def parse_key_set(document: object, *, strict: bool = True) -> KeySet:
    """A JWKS (``{"keys": [...]}``) as a :class:`KeySet`.

    ``strict`` (keys a tenant registers): any unusable key is refused with
    :class:`KeySetInvalid`. Not strict (an IdP's published set, which may carry
    encryption keys or algorithms Patchbay does not take): unusable keys are left out.
    Duplicate kids are refused either way: which key would a token mean?"""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeySetInvalid("keys", 'A JWKS is a JSON object {"keys": [...]}.')
    keys: list[SigningKey] = []
    for index, jwk in enumerate(document["keys"]):
        try:
            keys.append(parse_key(jwk, f"keys[{index}]"))
        except KeySetInvalid:
            if strict:
                raise
    by_kid: dict[str, SigningKey] = {}
    for index, key in enumerate(keys):
        if key.kid is not None:
            if key.kid in by_kid:
                raise KeySetInvalid(f"keys[{index}].kid", "Two keys have the same kid.")
            by_kid[key.kid] = key
    return KeySet(keys=tuple(keys), by_kid=by_kid)


def valid_kid(kid: object) -> bool:
    return (
        isinstance(kid, str)
        and 0 < len(kid) <= MAX_KID_LENGTH
        and _KID.fullmatch(kid) is not None
        and ".." not in kid
    )


def token_header(token: str) -> tuple[str, str | None]:
    """The ``alg`` and ``kid`` of a token's header, checked before any key is looked for."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenRejected("malformed", "The token is too long.")
    if not looks_like_jwt(token):
        raise TokenRejected("malformed", "The token is not a JWT.")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError:
        raise TokenRejected("malformed", "The token's header cannot be read.") from None
    alg = header.get("alg")
    if alg not in ASYMMETRIC_ALGORITHMS:
        raise TokenRejected("algorithm", "The token's algorithm is not accepted.")
    if "crit" in header:
        raise TokenRejected("malformed", "The token names critical extensions.")
    kid = header.get("kid")
    if kid is not None and not valid_kid(kid):
        raise TokenRejected("kid", "The token's kid is not valid.")
    return alg, kid


_CLAIM_ERRORS: tuple[tuple[type[Exception], str, str], ...] = (
    (jwt.ExpiredSignatureError, "expired", "The token has expired."),
    (jwt.ImmatureSignatureError, "not_yet_valid", "The token is not valid yet."),
    (jwt.InvalidIssuerError, "issuer", "The token was not issued by the trusted issuer."),
    (jwt.InvalidAudienceError, "audience", "The token is not meant for Patchbay."),
    (jwt.MissingRequiredClaimError, "missing_claim", "The token lacks a required claim."),
    (jwt.InvalidSignatureError, "signature", "The token's signature is not valid."),
    (jwt.DecodeError, "malformed", "The token cannot be decoded."),
)


def verify_token(
    token: str,
    *,
    key_for: Callable[[str | None], SigningKey | None],
    audience: str,
    issuer: str | None = None,
    require: Iterable[str] = ("exp", "iat"),
    leeway: float = DEFAULT_LEEWAY_SECONDS,
) -> dict[str, Any]:
    """The verified claims of ``token``, or :class:`TokenRejected`.

    ``key_for(kid)`` returns the trusted key for the header's ``kid`` or None (it may
    refetch a key set: it is only called for a well-formed header with an accepted
    algorithm)."""
    alg, kid = token_header(token)
    key = key_for(kid)
    if key is None:
        raise TokenRejected("unknown_kid", "The token is signed by an unknown key.")
    if alg not in key.algorithms:
        raise TokenRejected("algorithm", "The token's algorithm does not fit its key.")
    required = ["exp", *require, "aud"] + (["iss"] if issuer is not None else [])
    try:
        claims = jwt.decode(
            token,
            key.key,
            algorithms=[alg],
            audience=audience,
            issuer=issuer,
            leeway=leeway,
            options={"require": list(dict.fromkeys(required)), "strict_aud": False},
        )
    except jwt.PyJWTError as exc:
        for error_type, reason, message in _CLAIM_ERRORS:
            if isinstance(exc, error_type):
                raise TokenRejected(reason, message) from None
        raise TokenRejected("claims", "The token's claims are not valid.") from None
    if issuer is not None and claims.get("iss") != issuer:  # PyJWT does this; be sure
        raise TokenRejected("issuer", "The token was not issued by the trusted issuer.")
    return claims
