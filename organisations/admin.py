"""Operators' admin for tenants and API keys (SPEC §3, §7).

An API key's plaintext exists only in the response to the request that
created it; the admin shows its prefix afterwards and never the hash.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone

from core.admin import shown_once
from organisations.keys import KEY_PREFIX, api_key_create
from organisations.models import ApiKey, Organisation


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin[Organisation]):
    list_display = ("name", "id", "created_at", "updated_at")
    search_fields = ("name", "=id")
    fields = ("id", "name", "allowed_redirect_urls", "created_at", "updated_at")
    readonly_fields = ("id", "created_at", "updated_at")


class ApiKeyStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "Active"), ("revoked", "Revoked"), ("expired", "Expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> QuerySet[ApiKey]:
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True).filter(
                Q(expires_at__isnull=True) | Q(expires_at__gt=now)
            )
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(revoked_at__isnull=True, expires_at__lte=now)
        return queryset


class ApiKeyAddForm(forms.ModelForm[ApiKey]):
    """Only what an operator chooses; the key itself is generated on save."""

    class Meta:
        model = ApiKey
        fields = ("organisation", "name", "expires_at")

    def clean_expires_at(self) -> Any:
        expires_at = self.cleaned_data.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now():
            raise forms.ValidationError("The expiry must be in the future.")
        return expires_at


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin[ApiKey]):
    list_display = (
        "display_prefix",
        "name",
        "organisation",
        "status",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = (ApiKeyStatusFilter, "organisation")
    list_select_related = ("organisation",)
    search_fields = ("prefix", "name", "organisation__name", "=organisation__id")
    actions = ("revoke_keys",)
    # key_hash is deliberately absent everywhere: it is a verifier for the key
    # and has no use to an operator.
    fields = (
        "id",
        "organisation",
        "name",
        "display_prefix",
        "expires_at",
        "revoked_at",
        "created_at",
        "last_used_at",
    )
    readonly_fields = (
        "id",
        "organisation",
        "display_prefix",
        "revoked_at",
        "created_at",
        "last_used_at",
    )

    @admin.display(description="key", ordering="prefix")
    def display_prefix(self, obj: ApiKey) -> str:
        return f"{KEY_PREFIX}{obj.prefix}_…" if obj.prefix else "—"

    @admin.display(description="status")
    def status(self, obj: ApiKey) -> str:
        if obj.revoked_at is not None:
            return "revoked"
        return "active" if obj.is_usable() else "expired"

    def get_form(
        self, request: HttpRequest, obj: ApiKey | None = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm[ApiKey]]:
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        return ApiKeyAddForm.Meta.fields if obj is None else self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        return () if obj is None else self.readonly_fields

    def save_model(
        self, request: HttpRequest, obj: ApiKey, form: forms.ModelForm[ApiKey], change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created = api_key_create(
            organisation=obj.organisation, name=obj.name, expires_at=obj.expires_at
        )
        # The admin goes on to log and redirect with `obj`; make it the saved row.
        for field in ApiKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created.api_key, field.attname))
        obj._state = created.api_key._state
        # Kept in memory for response_add, the one place the plaintext is shown.
        obj._shown_once = created.key  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None
    ) -> HttpResponse:
        key = getattr(obj, "_shown_once", None)
        if key is None:
            return super().response_add(request, obj, post_url_continue)
        return shown_once(
            request,
            title=f"API key “{obj.name or obj.prefix}” added",
            secrets=[("API key", key)],
            next_url=reverse("admin:organisations_apikey_change", args=[obj.pk]),
        )

    @admin.action(description="Revoke selected keys", permissions=["change"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        self.message_user(request, f"Revoked {count} API key(s).", messages.SUCCESS)
