"""Tenancy helpers: every API view resolves its organisation here, and only here.

A caller sees only its own organisation: an id of another organisation, in the
path or in a body, answers 404 exactly as an id that does not exist.

Staff operators' sessions work on the API with the Django model permissions the admin
asks for (SPEC §11): each view names the model it touches (``permission_model``) and
the action comes from the method (``view_`` for GET, HEAD and OPTIONS, ``add_`` for
POST, ``change_`` for PUT and PATCH, ``delete_`` for DELETE), unless the view lists the
permissions of an action or method of its own in ``staff_permissions``. A view that
names neither refuses every staff user. Superusers hold every permission.
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


_METHOD_ACTIONS = {
    "GET": "view",
    "HEAD": "view",
    "OPTIONS": "view",
    "POST": "add",
    "PUT": "change",
    "PATCH": "change",
    "DELETE": "delete",
}


def staff_permissions_for(request: Request, view: APIView) -> tuple[str, ...]:
    """The model permissions (``app_label.codename``) a staff user needs for this request;
    empty when the view declares none (then no staff user may)."""
    declared: dict[str, tuple[str, ...]] = getattr(view, "staff_permissions", {})
    for key in (getattr(view, "action", None), request.method, "*"):
        if key is not None and key in declared:
            return declared[key]
    model: type[Model] | None = getattr(view, "permission_model", None)
    action = _METHOD_ACTIONS.get(request.method or "")
    if model is None or action is None:
        return ()
    return (f"{model._meta.app_label}.{action}_{model._meta.model_name}",)


class IsApiKeyOrStaff(permissions.BasePermission):
    """API keys and id_tokens, or staff operators signed in to the admin (their session
    works on the API) who hold the model permission for the request, as in the admin."""

    message = "Your staff account lacks the permission this request needs."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if isinstance(user, OrganisationCaller):
            return True
        if not (user and getattr(user, "is_staff", False) and getattr(user, "is_active", False)):
            return False
        needed = staff_permissions_for(request, view)
        if needed and user.has_perms(needed):
            return True
        refusal(
            logger,
            "forbidden",
            level=WARNING,
            reason="staff_permission",
            user_id=user.pk,
            permission=",".join(needed) or "none_declared",
        )
        if needed:
            self.message = f"Your staff account lacks the permission {', '.join(needed)}."
        return False


class OrganisationScopedMixin(APIView):
    """For views under ``/api/v2/o/{organisation_id}/``: scopes every queryset by construction.

    ``permission_model`` and ``staff_permissions``: what a staff user needs (module
    docstring)."""

    permission_classes = [IsApiKeyOrStaff]
    permission_model: type[Model] | None = None
    staff_permissions: dict[str, tuple[str, ...]] = {}
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
