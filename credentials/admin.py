"""Operators' admin for credentials (SPEC §4, §7).

Secret fields are never rendered: the change form shows the non-secret part of
``data`` and one password input per secret field of the credential's type. A
blank input keeps the stored value; a filled one replaces it. Which fields are
secret comes from ``credentials.types``, the one registry of credential types.
"""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone

from credentials.models import Credential
from credentials.types import CREDENTIAL_TYPES, public_data, secret_keys

SECRET_PREFIX = "secret_"


def editable_keys(credential_type: str, redact_fields: list[str] | None) -> frozenset[str] | None:
    """The non-secret ``data`` keys an operator may edit; None means any key not secret."""
    spec = CREDENTIAL_TYPES.get(credential_type)
    if spec is None:
        return frozenset()
    if spec.free_form:
        return None
    return frozenset(f.name for f in spec.fields if not f.secret)


def secret_names(credential: Credential) -> list[str]:
    """The secret fields of this credential's type, in declaration order."""
    spec = CREDENTIAL_TYPES.get(credential.type)
    if spec is None:
        return []
    if spec.free_form:
        return [str(name) for name in credential.redact_fields or []]
    return list(spec.secret_fields)


def _check_public_data(
    value: Any, credential_type: str, redact_fields: list[str] | None
) -> dict[str, Any]:
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise forms.ValidationError("Enter a JSON object.")
    hidden = secret_keys(credential_type, redact_fields)
    if "*" in hidden and value:
        raise forms.ValidationError("This credential type has no editable data.")
    secret = sorted(k for k in value if k in hidden)
    if secret:
        # Naming the key is fine; echoing the value would not be, and Django's
        # JSON field redisplays the submitted text, so refuse before that matters.
        raise forms.ValidationError(
            f"Secret fields are set with the password inputs, not here: {', '.join(secret)}."
        )
    allowed = editable_keys(credential_type, redact_fields)
    if allowed is not None:
        unknown = sorted(k for k in value if k not in allowed)
        if unknown:
            raise forms.ValidationError(
                f"Not a field of {credential_type} credentials: {', '.join(unknown)}."
            )
    return value


class CredentialAddForm(forms.ModelForm[Credential]):
    """Step one: everything but the secrets, which the change form takes next
    (the secret inputs depend on the type, like Django's own user admin)."""

    public_data = forms.JSONField(
        label="Data (non-secret fields)",
        required=False,
        initial=dict,
        help_text="The type's non-secret fields as a JSON object. Secrets come on the next page.",
    )

    class Meta:
        model = Credential
        fields = ("organisation", "type", "name", "expires_at", "redact_fields")
        help_texts: ClassVar[dict[str, str]] = {
            "redact_fields": "default credentials only: the keys whose values are secret.",
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        credential_type = cleaned.get("type")
        redact_fields = cleaned.get("redact_fields") or []
        spec = CREDENTIAL_TYPES.get(credential_type or "")
        if spec is not None:
            if not spec.free_form and redact_fields:
                self.add_error("redact_fields", "Only default credentials take redact fields.")
            elif not isinstance(redact_fields, list) or not all(
                isinstance(k, str) for k in redact_fields
            ):
                self.add_error("redact_fields", "Enter a JSON list of strings.")
            else:
                try:
                    cleaned["public_data"] = _check_public_data(
                        cleaned.get("public_data"), spec.type, redact_fields
                    )
                except forms.ValidationError as exc:
                    self.add_error("public_data", exc)
        return cleaned

    def save(self, commit: bool = True) -> Credential:
        self.instance.data = dict(self.cleaned_data.get("public_data") or {})
        return super().save(commit=commit)


class CredentialChangeForm(forms.ModelForm[Credential]):
    """Edits name, expiry, errors and non-secret data; secrets only through password inputs.

    Subclassed per credential by :func:`change_form_for`, which declares the
    secret inputs (``secret_0``, ``secret_1``, ...; the labels carry the names).
    """

    secret_fields: ClassVar[dict[str, str]] = {}

    public_data = forms.JSONField(label="Data (non-secret fields)", required=False)

    class Meta:
        model = Credential
        fields = ("name", "expires_at", "errors")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Decrypted once, here; only ever read for merging, never rendered.
        stored = self.instance.data
        self._stored: dict[str, Any] = dict(stored) if isinstance(stored, dict) else {}
        self.fields["public_data"].initial = public_data(
            self.instance.type, self._stored, self.instance.redact_fields
        )
        for field_name, secret_name in self.secret_fields.items():
            is_set = self._stored.get(secret_name) not in (None, "")
            self.fields[field_name].help_text = (
                "A value is stored. Leave blank to keep it; type a new one to replace it."
                if is_set
                else "Not set. Type a value to set it."
            )

    def clean_public_data(self) -> dict[str, Any]:
        return _check_public_data(
            self.cleaned_data.get("public_data"),
            self.instance.type,
            self.instance.redact_fields,
        )

    def merged_data(self) -> dict[str, Any]:
        """Stored data with the edited public part and any replaced secrets."""
        shown = public_data(self.instance.type, self._stored, self.instance.redact_fields)
        # Keys that are neither shown nor secret (unexpected stored keys) are kept untouched.
        data = {k: v for k, v in self._stored.items() if k not in shown}
        data.update(self.cleaned_data.get("public_data") or {})
        for field_name, secret_name in self.secret_fields.items():
            new_value = self.cleaned_data.get(field_name)
            if new_value:
                data[secret_name] = new_value
        return data

    def save(self, commit: bool = True) -> Credential:
        self.instance.data = self.merged_data()
        return super().save(commit=commit)


def change_form_for(credential: Credential) -> type[CredentialChangeForm]:
    """A change form with one write-only password input per secret field of this credential."""
    secret_fields = {f"{SECRET_PREFIX}{i}": name for i, name in enumerate(secret_names(credential))}
    attrs: dict[str, Any] = {
        field_name: forms.CharField(
            label=secret_name,
            required=False,
            strip=False,
            # render_value=False: a stored secret never travels back to the browser.
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        )
        for field_name, secret_name in secret_fields.items()
    }
    attrs["secret_fields"] = secret_fields
    return type("CredentialChangeForm", (CredentialChangeForm,), attrs)


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
    readonly_fields = (
        "id",
        "organisation",
        "type",
        "redact_fields",
        "created_at",
        "updated_at",
    )

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
        secrets = list(change_form_for(obj).secret_fields)
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
