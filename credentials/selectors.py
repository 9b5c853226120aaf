"""Reads of credentials. Every read is scoped to one organisation."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from core.errors import not_found
from core.text import parse_uuid
from credentials.models import Credential
from organisations.models import Organisation


def credential_list(*, organisation: Organisation, type: str | None = None) -> QuerySet[Credential]:
    """The organisation's credentials, without expired ones.

    A credential past its ``expiresAt`` is deleted by a periodic sweep; until
    then it already behaves as deleted (SPEC §4).
    """
    qs = Credential.objects.filter(organisation=organisation).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now())
    )
    if type is not None:
        qs = qs.filter(type=type)
    return qs


def credential_get(
    *, organisation: Organisation, credential_id: object, type: str | None = None
) -> Credential:
    """The credential with this id in ``organisation`` (of ``type`` if given), else 404.

    Ids of other organisations, malformed ids and expired credentials all answer
    the same 404.
    """
    pk = parse_uuid(credential_id)
    if pk is None:
        raise not_found("credential")
    credential = credential_list(organisation=organisation, type=type).filter(pk=pk).first()
    if credential is None:
        raise not_found("credential")
    return credential
