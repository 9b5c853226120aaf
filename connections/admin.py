"""Operators' admin for connections and authorisation requests (SPEC §4, §5, §7).

Authorisation requests are read-only: they are the OAuth flow's own records
(a state hash and an encrypted PKCE verifier), so operators may inspect and
delete them but never create or edit one, and the verifier is never shown.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils import timezone

from connections.events import connection_event
from connections.models import (
    AuthorisationRequest,
    Connection,
    ConnectionCredential,
    ConnectionStatus,
)
from connections.oauth.access import token_link
from connections.oauth.refresh import token_refresh
from core.errors import PatchbayError


class ConnectionCredentialFormSet(BaseInlineFormSet[ConnectionCredential, Connection, Any]):
    def clean(self) -> None:
        super().clean()
        connection = self.instance
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.cleaned_data.get("DELETE"):
                continue
            credential = form.cleaned_data.get("credential")
            config = form.cleaned_data.get("auth_scheme_config")
            # Raw-id inputs accept any id, so tenancy is checked here, not by the widget.
            if credential is not None and credential.organisation_id != connection.organisation_id:
                form.add_error("credential", "Not a credential of this connection's organisation.")
            if config is not None and config.connector_id != connection.connector_id:
                form.add_error(
                    "auth_scheme_config",
                    "Not an auth scheme config of this connection's connector.",
                )


class ConnectionCredentialInline(admin.TabularInline[ConnectionCredential, Connection]):
    model = ConnectionCredential
    formset = ConnectionCredentialFormSet
    extra = 0
    fields = ("position", "auth_scheme_config", "credential")
    # Raw ids rather than selects: a select would list every organisation's credentials.
    raw_id_fields = ("auth_scheme_config", "credential")

    def get_queryset(self, request: HttpRequest) -> QuerySet[ConnectionCredential]:
        return super().get_queryset(request).select_related("auth_scheme_config", "credential")


class ConnectionForm(forms.ModelForm[Connection]):
    class Meta:
        model = Connection
        fields = (
            "organisation",
            "connector",
            "name",
            "base_url",
            "connection_template_id",
            "status",
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        organisation = cleaned.get("organisation") or getattr(self.instance, "organisation", None)
        connector = cleaned.get("connector")
        if (
            connector is not None
            and organisation is not None
            and connector.organisation_id != organisation.pk
        ):
            self.add_error("connector", "Not a connector of this organisation.")
        return cleaned


@admin.register(Connection)
class ConnectionAdmin(admin.ModelAdmin[Connection]):
    form = ConnectionForm
    list_display = (
        "name",
        "organisation",
        "connector",
        "status",
        "last_verification",
        "created_at",
        "updated_at",
    )
    list_filter = ("status", "organisation")
    list_select_related = ("organisation", "connector")
    search_fields = (
        "name",
        "=id",
        "connector__name",
        "=connector__id",
        "organisation__name",
        "=organisation__id",
    )
    fields = (
        "id",
        "organisation",
        "connector",
        "name",
        "base_url",
        "connection_template_id",
        "status",
        "last_verification",
        "created_at",
        "updated_at",
    )
    inlines = (ConnectionCredentialInline,)
    actions = ("mark_for_reauthorisation", "refresh_token_now")

    def get_readonly_fields(self, request: HttpRequest, obj: Connection | None = None) -> Any:
        readonly = ("id", "last_verification", "created_at", "updated_at")
        # A connection's credentials belong to its organisation and its configs to
        # its connector: neither can move once it exists.
        return readonly if obj is None else (*readonly, "organisation", "connector")

    @admin.display(description="last verification", ordering="verified_at")
    def last_verification(self, obj: Connection) -> str:
        """SPEC §9.2: the outcome and the upstream's status, never its body."""
        if obj.verified_at is None:
            return "never"
        outcome = "valid" if obj.verification_valid else "refused"
        return f"{outcome}: HTTP {obj.verification_status}, {obj.verified_at:%Y-%m-%d %H:%M:%S} UTC"

    @admin.action(description="Mark for re-authorisation", permissions=["change"])
    def mark_for_reauthorisation(
        self, request: HttpRequest, queryset: QuerySet[Connection]
    ) -> None:
        count = 0
        for connection in queryset.exclude(status=ConnectionStatus.NEEDS_REAUTH)[:500]:
            with transaction.atomic():
                connection.status = ConnectionStatus.NEEDS_REAUTH
                connection.save(update_fields=["status", "updated_at"])
                # Subscribers hear about it as if the provider had refused the grant.
                connection_event(connection=connection, type="connection.needs_reauth")
            count += 1
        self.message_user(
            request, f"Marked {count} connection(s) for re-authorisation.", messages.SUCCESS
        )

    @admin.action(description="Refresh token now", permissions=["change"])
    def refresh_token_now(self, request: HttpRequest, queryset: QuerySet[Connection]) -> None:
        """Force a refresh through the same service as ``?forceRefresh=true`` (refresh lock,
        cooldown, needs_reauth). Reports counts and error codes only, never a token."""
        refreshed, problems = 0, []
        for connection in queryset[:100]:
            try:
                link = token_link(connection)
                link.connection = connection
                token_refresh(link=link, force=True)
            except PatchbayError as exc:
                problems.append(f"{connection.name}: {exc.code}")
            else:
                refreshed += 1
        if refreshed:
            self.message_user(request, f"Refreshed {refreshed} token(s).", messages.SUCCESS)
        if problems:
            self.message_user(
                request, "Not refreshed: " + "; ".join(problems[:20]), messages.WARNING
            )


class AuthorisationRequestStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("pending", "Pending"), ("used", "Used"), ("expired", "Expired, unused")]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[AuthorisationRequest]
    ) -> QuerySet[AuthorisationRequest]:
        now = timezone.now()
        if self.value() == "pending":
            return queryset.filter(used_at__isnull=True, expires_at__gt=now)
        if self.value() == "used":
            return queryset.filter(used_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(used_at__isnull=True, expires_at__lte=now)
        return queryset


@admin.register(AuthorisationRequest)
class AuthorisationRequestAdmin(admin.ModelAdmin[AuthorisationRequest]):
    list_display = (
        "id",
        "organisation",
        "connector",
        "client_id",
        "state",
        "created_at",
        "expires_at",
        "used_at",
    )
    list_filter = (AuthorisationRequestStateFilter, "organisation")
    list_select_related = ("organisation", "connector")
    search_fields = ("=id", "client_id", "connector__name", "organisation__name")
    # code_verifier (encrypted PKCE verifier) and state_hash are left out on purpose.
    fields = (
        "id",
        "organisation",
        "connector",
        "auth_scheme_config",
        "client_credential",
        "client_id",
        "redirect_uri",
        "scopes",
        "expected_issuer",
        "connection",
        "created_at",
        "expires_at",
        "used_at",
    )
    readonly_fields = fields

    @admin.display(description="state")
    def state(self, obj: AuthorisationRequest) -> str:
        if obj.used_at is not None:
            return "used"
        return "expired" if obj.expires_at <= timezone.now() else "pending"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: AuthorisationRequest | None = None
    ) -> bool:
        return False
