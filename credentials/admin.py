"""Operators' admin for credentials (SPEC §4, §7).

Secret fields are never rendered: the change form shows the non-secret part of
``data`` and one password input per secret field of the credential's type. A
blank input keeps the stored value; a filled one replaces it. Which fields are
secret comes from ``credentials.types``; validation and updates go through
``credentials.services`` like the API's, so a concurrent token refresh is not
overwritten by what the form loaded.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import unquote
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from core.errors import PatchbayError
from credentials.forms import (
    CredentialAddForm,
    CredentialChangeForm,
    change_form_for,
)
from credentials.models import Credential
from credentials.services import (
    UNSET,
    credential_delete,
    credential_references,
    credential_update,
)


class ExpiryFilter(admin.SimpleListFilter):
    title = "expiry"
    parameter_name = "expiry"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("never", "Never expires"), ("pending", "Expires later"), ("past", "Expired")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[Credential]
    ) -> QuerySet[Credential]:
        now = timezone.now()
        if self.value() == "never":
            return queryset.filter(expires_at__isnull=True)
        if self.value() == "pending":
            return queryset.filter(expires_at__gt=now)
        if self.value() == "past":
            return queryset.filter(expires_at__lte=now)
        return queryset


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin[Credential]):
    list_display = ("display_name", "type", "organisation", "valid", "expires_at", "updated_at")
    list_filter = ("type", ExpiryFilter, "organisation")
    list_select_related = ("organisation",)
    # `data` is ciphertext in the database, so it is not searchable (nor should it be).
    search_fields = ("name", "=id", "organisation__name", "=organisation__id")
    readonly_fields = ("id", "organisation", "type", "redact_fields", "created_at", "updated_at")

    @admin.display(description="name", ordering="name")
    def display_name(self, obj: Credential) -> str:
        return obj.name or str(obj.pk)

    @admin.display(description="valid", boolean=True)
    def valid(self, obj: Credential) -> bool | None:
        # errors: None = never validated, [] = valid, otherwise the reasons.
        return None if obj.errors is None else not obj.errors

    def get_fieldsets(self, request: HttpRequest, obj: Credential | None = None) -> Any:
        if obj is None:
            return [(None, {"fields": [*CredentialAddForm.Meta.fields, "public_data"]})]
        secrets = list(change_form_for(obj).secret_inputs)
        fieldsets: list[tuple[str | None, dict[str, Any]]] = [
            (None, {"fields": ["id", "organisation", "type", "name", "expires_at", "errors"]}),
            ("Data", {"fields": ["public_data", "redact_fields"]}),
        ]
        if secrets:
            fieldsets.append(
                (
                    "Secrets (write-only)",
                    {
                        "fields": secrets,
                        "description": "Stored values are never shown. "
                        "Leave a field blank to keep its value.",
                    },
                )
            )
        fieldsets.append(("History", {"fields": ["created_at", "updated_at"]}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Credential | None = None) -> Any:
        return () if obj is None else self.readonly_fields

    def get_form(
        self,
        request: HttpRequest,
        obj: Credential | None = None,
        change: bool = False,
        **kwargs: Any,
    ) -> type[forms.ModelForm[Credential]]:
        kwargs["form"] = CredentialAddForm if obj is None else change_form_for(obj)
        return super().get_form(request, obj, change=change, **kwargs)

    def save_model(
        self,
        request: HttpRequest,
        obj: Credential,
        form: forms.ModelForm[Credential],
        change: bool,
    ) -> None:
        if not change or not isinstance(form, CredentialChangeForm):
            super().save_model(request, obj, form, change)
            return
        payload = form.data_payload()
        errors = obj.errors
        # The service re-reads the row under a lock, so only what the operator
        # changed is written over whatever a token refresh stored meanwhile.
        credential_update(
            credential=obj,
            name=obj.name if "name" in form.changed_data else UNSET,
            expires_at=obj.expires_at if "expires_at" in form.changed_data else UNSET,
            data=UNSET if payload is None else payload,
            partial=False,
        )
        if "errors" in form.changed_data and obj.errors != errors:
            obj.errors = errors
            obj.save(update_fields=["errors", "updated_at"])

    # Deleting goes through the service, as in the API: a credential a connection or a
    # connector config still uses is kept, and the rest of a selection is deleted.

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # A connection's link is PROTECT, which Django's own check would turn into a refusal
        # of the whole selection; delete_queryset keeps each credential in use instead.
        deletable, counts, perms_needed, _protected = super().get_deleted_objects(objs, request)
        return deletable, counts, perms_needed, []

    def delete_view(
        self, request: HttpRequest, object_id: str, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        obj = self.get_object(request, unquote(object_id))
        uses = credential_references(credential=obj) if obj is not None else []
        if obj is not None and uses:
            self.message_user(
                request,
                f"“{obj}” is used by {' and '.join(uses)}; remove those uses first.",
                messages.ERROR,
            )
            return HttpResponseRedirect(
                reverse("admin:credentials_credential_change", args=[obj.pk])
            )
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request: HttpRequest, obj: Credential) -> None:
        self.delete_queryset(request, Credential.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Credential]) -> None:
        kept = []
        for credential in queryset:
            try:
                credential_delete(credential=credential)
            except PatchbayError:
                kept.append(str(credential))
        if kept:
            self.message_user(request, f"Kept, still in use: {', '.join(kept)}.", messages.ERROR)

    def response_add(
        self, request: HttpRequest, obj: Credential, post_url_continue: str | None = None
    ) -> HttpResponse:
        if "_addanother" in request.POST or IS_POPUP_VAR in request.POST:
            return super().response_add(request, obj, post_url_continue)
        # The secret inputs depend on the type, so adding always continues to the
        # change form, where they are (as Django's user admin does for passwords).
        self.message_user(
            request,
            f"The credential “{obj}” was added. Now set its secret fields.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:credentials_credential_change", args=[obj.pk]))
