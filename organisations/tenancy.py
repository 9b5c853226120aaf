"""Tenancy helpers: every API view resolves its organisation here, and only here.

A caller sees only its own organisation: an id of another organisation, in the
path or in a body, answers 404 exactly as an id that does not exist.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db.models import Model, QuerySet
from rest_framework import permissions, viewsets
from rest_framework.request import Request
from rest_framework.views import APIView

from core.errors import not_found
from core.logs import WARNING, refusal
from core.text import parse_uuid
from organisations.authentication import OrganisationCaller
from organisations.models import Organisation

logger = logging.getLogger(__name__)


def organisation_for(request: Request, organisation_id: str) -> Organisation:
    """The organisation named in the path, if the caller may act for it; else 404.

    An API key or id_token used under another organisation's id is logged as a warning."""
    wanted = parse_uuid(organisation_id)
    if wanted is None:
        raise not_found("organisation")
    user = request.user
    if isinstance(user, OrganisationCaller):
        if user.organisation.pk != wanted:
            refusal(
                logger,
                "not_found",
                level=WARNING,
                reason="another_organisation",
                **user.log_ids(),
                organisation_id=user.organisation.pk,
                requested_organisation_id=wanted,
            )
            raise not_found("organisation")
        return user.organisation
    if getattr(user, "is_staff", False) and getattr(user, "is_active", False):
        organisation = Organisation.objects.filter(pk=wanted).first()
        if organisation is not None:
            return organisation
    raise not_found("organisation")


class IsApiKeyOrStaff(permissions.BasePermission):
    """API keys, or staff operators signed in to the admin (their session works on the API)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if isinstance(user, OrganisationCaller):
            return True
        return bool(user and getattr(user, "is_staff", False) and getattr(user, "is_active", False))


class OrganisationScopedMixin(APIView):
    """For views under ``/api/v2/o/{organisation_id}/``: scopes every queryset by construction."""

    permission_classes = [IsApiKeyOrStaff]
    _organisation: Organisation | None = None

    @property
    def organisation(self) -> Organisation:
        if self._organisation is None:
            self._organisation = organisation_for(self.request, self.kwargs["organisation_id"])
        return self._organisation

    def options(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        """Another organisation's id answers 404 here as on every other method."""
        self.organisation  # noqa: B018 - resolving it is the check
        return super().options(request, *args, **kwargs)

    def scoped(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(organisation=self.organisation)


class OrganisationScopedViewSet(OrganisationScopedMixin, viewsets.GenericViewSet):
    """A viewset whose ``get_queryset`` is always filtered by the caller's organisation."""

    base_queryset: QuerySet[Any]
    lookup_field = "pk"
    lookup_url_kwarg = "pk"

    def get_queryset(self) -> QuerySet[Any]:
        return self.scoped(self.base_queryset.all())

    def get_object(self) -> Model:
        pk = parse_uuid(self.kwargs.get(self.lookup_url_kwarg or "pk"))
        if pk is None:
            raise not_found()
        obj = self.get_queryset().filter(pk=pk).first()
        if obj is None:
            raise not_found()
        self.check_object_permissions(self.request, obj)
        return obj
