"""Reads of credentials. Every read is scoped to one organisation."""

from __future__ import annotations

import logging

from django.db.models import Q, QuerySet
from django.utils import timezone

from core.errors import not_found
from core.logs import INFO, WARNING, refusal
from core.text import parse_uuid
from credentials.models import Credential
from organisations.models import Organisation

logger = logging.getLogger(__name__)


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
    credential = (
        credential_list(organisation=organisation, type=type).filter(pk=pk).first() if pk else None
    )
    if credential is None:
        credential_refused(organisation=organisation, credential_id=credential_id)
        raise not_found("credential")
    return credential


def credential_refused(
    *,
    organisation: Organisation,
    credential_id: object,
    another_organisation: bool = False,
    **ids: object,
) -> None:
    """Log a credential a caller named that ``organisation`` does not have (unknown, expired
    or another organisation's: the answer is the same 404). A warning when the caller named
    another organisation outright; only a well-formed id is logged."""
    refusal(
        logger,
        "not_found",
        level=WARNING if another_organisation else INFO,
        reason="another_organisation" if another_organisation else "unknown_credential",
        credential_id=parse_uuid(credential_id),
        organisation_id=organisation.pk,
        **ids,
    )
