"""Operators' admin for connectors and their auth scheme configs (SPEC §4, §7).

A config's encrypted ``secrets`` (the OAuth 1.0a consumer secret) is write-only
here: a password input replaces it, a blank one keeps it, nothing shows it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest

from connectors.inputs import AuthSchemeConfig as AuthSchemeConfigInput
from connectors.models import AuthSchemeConfig, AuthSchemeType, Connector
from connectors.schemes import TYPED_KEYS
from core.admin import redisplay_json
from core.errors import PatchbayError

# Secrets that belong in `secrets` or in a credential, never in the plain JSON
# `settings` (which the admin and the API show).
SECRET_SETTING_KEYS = frozenset({"clientSecret", "consumerSecret"})


def _without_secret_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: _without_secret_keys(v) for k, v in value.items() if k not in SECRET_SETTING_KEYS
        }
    if isinstance(value, list):
        return [_without_secret_keys(item) for item in value]
    return value


def _secret_keys_in(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {k for k in value if k in SECRET_SETTING_KEYS}
        for item in value.values():
            found |= _secret_keys_in(item)
        return found
    if isinstance(value, list):
        return set().union(*(_secret_keys_in(item) for item in value)) if value else set()
    return set()


class AuthSchemeConfigForm(forms.ModelForm[AuthSchemeConfig]):
    consumer_secret = forms.CharField(
        label="OAuth 1.0a consumer secret",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only, oauth1 configs only. Leave blank to keep the stored value.",
    )

    class Meta:
        model = AuthSchemeConfig
        fields = ("config_id", "type", "description", "settings", "verification", "position")
        help_texts = {
            "verification": 'SPEC §9.2, e.g. {"method": "GET", "path": "/me", '
            '"expectedStatus": [200]}; empty: not configured.'
        }

    def clean_settings(self) -> Any:
        value = self.cleaned_data.get("settings")
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise forms.ValidationError("Enter a JSON object.")
        found = _secret_keys_in(value)
        if found:
            raise forms.ValidationError(
                f"Secrets are not stored in settings: remove {', '.join(sorted(found))}. "
                "OAuth 2.0 client secrets live in an oauth2-client credential; the OAuth 1.0a "
                "consumer secret has its own input."
            )
        return value

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        type_ = cleaned.get("type")
        if cleaned.get("consumer_secret") and type_ != AuthSchemeType.OAUTH1:
            self.add_error("consumer_secret", "Only oauth1 configs have a consumer secret.")
        edited = {"config_id", "type", "settings", "verification"} & set(self.changed_data)
        if type_ and edited and "settings" in cleaned and not self.has_error("settings"):
            # The API's own parser checks what was edited; its messages never quote values.
            try:
                scheme = AuthSchemeConfigInput.parse(
                    {
                        "id": cleaned.get("config_id"),
                        "type": type_,
                        "description": cleaned.get("description") or "",
                        "verification": cleaned.get("verification"),
                        TYPED_KEYS[type_]: cleaned["settings"],
                    }
                )
                cleaned["verification"] = scheme.verification  # with its defaults filled in
            except PatchbayError as exc:
                for problem in exc.fields or []:
                    where = (
                        "verification" if problem.field.startswith("verification") else "settings"
                    )
                    self.add_error(where, f"{problem.field}: {problem.message}")
                if not exc.fields:
                    self.add_error("settings", exc.message)
        return cleaned

    def full_clean(self) -> None:
        super().full_clean()
        if self.is_bound and "settings" in self.errors:
            submitted = self.fields["settings"].bound_data(
                self.data.get(self.add_prefix("settings")), {}
            )
            shown = _without_secret_keys(submitted) if isinstance(submitted, dict) else {}
            redisplay_json(self, "settings", shown)

    def save(self, commit: bool = True) -> AuthSchemeConfig:
        new_secret = self.cleaned_data.get("consumer_secret")
        if new_secret:
            self.instance.secrets = {**(self.instance.secrets or {}), "consumerSecret": new_secret}
        return super().save(commit=commit)


class AuthSchemeConfigFormSet(BaseInlineFormSet[AuthSchemeConfig, Connector, Any]):
    def save_new(self, form: forms.ModelForm[AuthSchemeConfig], commit: bool = True) -> Any:
        # A config belongs to its connector's organisation; the organisation is
        # also part of the encrypted secrets' associated data, so set it first.
        form.instance.organisation_id = self.instance.organisation_id
        return super().save_new(form, commit=commit)


class AuthSchemeConfigInline(admin.StackedInline[AuthSchemeConfig, Connector]):
    model = AuthSchemeConfig
    form = AuthSchemeConfigForm
    formset = AuthSchemeConfigFormSet
    extra = 0
    fields = (
        "config_id",
        "type",
        "description",
        "settings",
        "verification",
        "consumer_secret",
        "position",
    )


@admin.register(Connector)
class ConnectorAdmin(admin.ModelAdmin[Connector]):
    list_display = ("name", "organisation", "base_url", "id", "updated_at")
    list_filter = ("organisation",)
    list_select_related = ("organisation",)
    search_fields = ("name", "=id", "base_url", "organisation__name", "=organisation__id")
    fields = ("id", "organisation", "name", "base_url", "created_at", "updated_at")
    inlines = (AuthSchemeConfigInline,)

    def get_readonly_fields(self, request: HttpRequest, obj: Connector | None = None) -> Any:
        # Moving a connector to another organisation would strand its configs,
        # connections and encrypted secrets in the old one.
        readonly = ("id", "created_at", "updated_at")
        return readonly if obj is None else (*readonly, "organisation")
