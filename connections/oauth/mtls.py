"""mTLS at token endpoints (SPEC §9.3, RFC 8705).

An oauth2 config with ``mtlsEnabled`` presents the ``certificate`` credential
``mtlsCredentialId`` (of the connection's organisation only) to its token endpoint
(code exchange, refresh, client-credentials and password grants) and to its
revocation endpoint. ``tokenAuthMethod: tls_client_auth`` then sends ``client_id``
without a secret: the certificate is the client's authentication.
"""

from __future__ import annotations

from uuid import UUID

from django.db.models import Q
from django.utils import timezone

from connections.oauth.tokens import TokenRequestError
from connectors.oauth2 import OAuth2Config
from core.client_tls import ClientCertificate
from core.text import parse_uuid
from credentials.models import Credential, CredentialType
from credentials.tls import client_certificate


def mtls_certificate(config: OAuth2Config, organisation_id: UUID | str) -> ClientCertificate | None:
    """The client certificate ``config`` asks for, or None without ``mtlsEnabled``.

    Raises :class:`TokenRequestError` ``no_mtls_credential`` when mTLS is on and the
    credential is missing, of another organisation, not a certificate or incomplete:
    the request must not go out without it (a ``tls_client_auth`` client would then be
    sent with no authentication at all).
    """
    if not config.mtls_enabled:
        return None
    pk = parse_uuid(config.mtls_credential_id)
    credential = (
        Credential.objects.filter(
            Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()),
            organisation_id=organisation_id,
            pk=pk,
            type=CredentialType.CERTIFICATE,
        ).first()
        if pk is not None
        else None
    )
    certificate = client_certificate(credential) if credential is not None else None
    if certificate is None:
        raise TokenRequestError("no_mtls_credential")
    return certificate
