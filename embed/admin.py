"""Admin for hubs, end users and connect sessions. Session tokens are never shown: only
their hash exists, and even that stays out of the pages."""

from __future__ import annotations

import re
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.jwks import PRIVATE_MEMBERS, clean_jwks
from core.validation import Problems, url_problem
from embed.inputs import origin_problem
from embed.models import ConnectSession, EndUser, EndUserTokenUse, Hub
from embed.services import connect_session_revoke


class HubAdminForm(forms.ModelForm):
    """Validates origins, return URLs and the logo like the API does."""

    class Meta:
        model = Hub
        fields = (
            "organisation",
            "name",
            "connectors",
            "allowed_origins",
            "return_urls",
            "branding_title",
            "branding_logo_url",
            "branding_accent_color",
            "signing_keys",
        )
        help_texts = {
            "signing_keys": 'Public keys (a JWKS, {"keys": [...]}) that verify end-user tokens '
            "the company signs: RSA 2048-4096 bits, EC P-256 or Ed25519, each with a kid. "
            "Never a private key.",
        }

    def clean_allowed_origins(self) -> Any:
        value = self.cleaned_data.get("allowed_origins") or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise forms.ValidationError("A JSON list of origins.")
        for origin in value:
            problem = origin_problem(origin)
            if problem:
                raise forms.ValidationError(f"{origin[:100]}: {problem}")
        return value

    def clean_return_urls(self) -> Any:
        value = self.cleaned_data.get("return_urls") or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise forms.ValidationError("A JSON list of URLs.")
        for url in value:
            problem = url_problem(url)
            if problem:
                raise forms.ValidationError(f"{url[:100]}: {problem}")
        return value

    def clean_branding_logo_url(self) -> str:
        value = self.cleaned_data.get("branding_logo_url") or ""
        problem = url_problem(value) if value else None
        if problem:
            raise forms.ValidationError(problem)
        return value

    def clean_branding_accent_color(self) -> str:
        value = self.cleaned_data.get("branding_accent_color") or ""
        if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
            raise forms.ValidationError("A colour like #1a2b3c.")
        return value.lower()

    def clean_signing_keys(self) -> Any:
        problems = Problems()
        value = clean_jwks(self.cleaned_data.get("signing_keys"), "signing_keys", problems)
        if problems:
            if any(f.field.rsplit(".", 1)[-1] in PRIVATE_MEMBERS for f in problems.fields):
                # Never show a pasted private key again, not even to who pasted it.
                data = cast(Any, self.data).copy()  # a QueryDict: keep multi-valued fields
                data["signing_keys"] = ""
                self.data = data
            # The paths name the member (signing_keys.keys[0].d), never its value.
            raise forms.ValidationError([f"{f.field}: {f.message}" for f in problems.fields])
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        organisation = data.get("organisation")
        connectors = data.get("connectors")
        if organisation is not None and connectors is not None:
            foreign = [c for c in connectors if c.organisation_id != organisation.pk]
            if foreign:
                self.add_error("connectors", "Only connectors of the hub's organisation.")
        return data


@admin.register(Hub)
class HubAdmin(admin.ModelAdmin):
    form = HubAdminForm
    list_display = ("name", "organisation", "created_at")
    list_filter = ("organisation",)
    search_fields = ("name", "id", "organisation__name")
    filter_horizontal = ("connectors",)
    readonly_fields = ("id", "created_at", "updated_at")


@admin.register(EndUser)
class EndUserAdmin(admin.ModelAdmin):
    list_display = ("external_id", "display_name", "hub", "organisation", "created_at")
    list_filter = ("organisation",)
    search_fields = ("external_id", "display_name", "id", "hub__name")
    readonly_fields = ("id", "organisation", "hub", "external_id", "created_at", "updated_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        # externalId is immutable once created.
        return self.readonly_fields if obj is not None else ("id", "created_at", "updated_at")

    def save_model(self, request: HttpRequest, obj: EndUser, form: Any, change: bool) -> None:
        if not change:
            obj.organisation_id = obj.hub.organisation_id
        super().save_model(request, obj, form, change)


@admin.register(ConnectSession)
class ConnectSessionAdmin(admin.ModelAdmin):
    """Read-only; the one action is revoking."""

    list_display = ("id", "hub", "end_user", "created_at", "expires_at", "revoked_at")
    list_filter = ("organisation",)
    search_fields = ("id", "end_user__external_id", "hub__name")
    fields = ("id", "organisation", "hub", "end_user", "created_at", "expires_at", "revoked_at")
    readonly_fields = fields
    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Revoke the selected connect sessions")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ConnectSession]) -> None:
        count = 0
        for session in queryset:
            if session.revoked_at is None:
                connect_session_revoke(session=session)
                count += 1
        self.message_user(request, f"Revoked {count} connect session(s).", messages.SUCCESS)


@admin.register(EndUserTokenUse)
class EndUserTokenUseAdmin(admin.ModelAdmin):
    """Read-only: the ``jti``s of company-signed end-user tokens already used, each kept until
    its token expires (a replay of one is refused)."""

    list_display = ("jti", "hub", "used_at", "expires_at")
    list_filter = ("hub__organisation",)
    search_fields = ("jti", "hub__name")
    fields = ("hub", "jti", "used_at", "expires_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
