"""A ``certificate`` credential as the outbound seam's client certificate (mTLS)."""

from __future__ import annotations

from core.client_tls import ClientCertificate
from credentials.models import Credential, CredentialType


def client_certificate(credential: Credential) -> ClientCertificate | None:
    """The certificate, key and CA of a ``certificate`` credential; None for another type
    or one whose stored data lacks the certificate or the key."""
    if credential.type != CredentialType.CERTIFICATE or not isinstance(credential.data, dict):
        return None
    data = credential.data
    certificate, key, ca = data.get("certificate"), data.get("key"), data.get("ca")
    if not isinstance(certificate, str) or not isinstance(key, str) or not certificate or not key:
        return None
    return ClientCertificate(
        certificate=certificate,
        key=key,
        ca=ca if isinstance(ca, str) else "",
        credential_id=str(credential.pk),
    )
