"""The admin's credential forms (SPEC §7): the add form (type, name, data) and, per
credential, a change form with the non-secret part of ``data`` and one password input per
secret field. A blank input keeps the stored value; a filled one replaces it. Validation
and updates go through ``credentials.services``, as the API's do."""

from __future__ import annotations

from typing import Any, ClassVar

from django import forms
from django.utils import timezone

from core.admin import redisplay_json
from core.errors import PatchbayError
from credentials.models import Credential
from credentials.services import (
    credential_data_clean,
)
from credentials.types import CREDENTIAL_TYPES, public_data, secret_keys

SECRET_PREFIX = "secret_"


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
        raise forms.ValidationError(
            f"Secret fields are set with the password inputs, not here: {', '.join(secret)}."
        )
    return value


def _add_service_errors(
    form: forms.BaseForm, exc: PatchbayError, secret_inputs: dict[str, str]
) -> None:
    """Attach a service's validation errors (which never quote values) to the form's fields."""
    by_secret = {name: field_name for field_name, name in secret_inputs.items()}
    if not exc.fields:
        form.add_error(None, exc.message)
    for problem in exc.fields:
        path = problem.field
        if path.startswith("data."):
            # data.<dataKey>.<field>[...]: the field is the third segment.
            key = path.split(".", 2)[2] if path.count(".") >= 2 else ""
            name = key.split("[", 1)[0].split(".", 1)[0]
            if name in by_secret:
                form.add_error(by_secret[name], problem.message)
            else:
                form.add_error("public_data", f"{key or 'data'}: {problem.message}")
        elif path == "expiresAt":
            form.add_error("expires_at", problem.message)
        elif path == "name":
            form.add_error("name", problem.message)
        else:
            form.add_error(None, f"{path}: {problem.message}")


class CredentialAddForm(forms.ModelForm[Credential]):
    """Step one: everything but the secrets, which the change form takes next
    (the secret inputs depend on the type, as in Django's own user admin)."""

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

    def clean_expires_at(self) -> Any:
        expires_at = self.cleaned_data.get("expires_at")
        if expires_at is not None and expires_at <= timezone.now():
            raise forms.ValidationError("Must be in the future.")
        return expires_at

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        spec = CREDENTIAL_TYPES.get(cleaned.get("type") or "")
        organisation = cleaned.get("organisation")
        redact_fields = cleaned.get("redact_fields") or []
        if spec is None or organisation is None:
            return cleaned
        if not spec.free_form and redact_fields:
            self.add_error("redact_fields", "Only default credentials take redact fields.")
            return cleaned
        if not isinstance(redact_fields, list) or not all(
            isinstance(k, str) for k in redact_fields
        ):
            self.add_error("redact_fields", "Enter a JSON list of strings.")
            return cleaned
        try:
            public = _check_public_data(cleaned.get("public_data"), spec.type, redact_fields)
        except forms.ValidationError as exc:
            self.add_error("public_data", exc)
            return cleaned
        # Secrets come in step two: validate as an update of a row whose secrets
        # are set, then drop those placeholders.
        placeholders = dict.fromkeys(spec.secret_fields, "")
        try:
            data = credential_data_clean(
                organisation=organisation,
                type=spec.type,
                data=public,
                stored=None if spec.free_form else placeholders,
            )
        except PatchbayError as exc:
            _add_service_errors(self, exc, {})
            return cleaned
        cleaned["data"] = {k: v for k, v in data.items() if k not in placeholders}
        return cleaned

    def full_clean(self) -> None:
        super().full_clean()
        # Whatever failed (the data box, or another field before the box was even checked),
        # the page comes back with the box: never with a secret pasted into it.
        if self.is_bound and self.errors:
            type_name = str(self.data.get(self.add_prefix("type")) or "")
            submitted = self.fields["public_data"].bound_data(
                self.data.get(self.add_prefix("public_data")), {}
            )
            # A default credential's secret keys are whatever redact_fields says,
            # which may itself be what failed: redisplay none of its data.
            shown = {} if type_name == "default" else public_data(type_name, submitted, None)
            redisplay_json(self, "public_data", shown)

    def save(self, commit: bool = True) -> Credential:
        instance = self.instance
        instance.data = self.cleaned_data["data"]
        missing = [
            f.name
            for f in CREDENTIAL_TYPES[instance.type].fields
            if f.secret and f.required and f.name not in instance.data
        ]
        # errors: [] = usable; a list of reasons otherwise (SPEC §4).
        instance.errors = [f"Secret fields not set yet: {', '.join(missing)}."] if missing else []
        return super().save(commit=commit)


class CredentialChangeForm(forms.ModelForm[Credential]):
    """Edits name, expiry, errors and non-secret data; secrets only through password inputs.

    Subclassed per credential by :func:`change_form_for`, which declares the
    secret inputs (``secret_0``, ``secret_1``, ...; the labels carry the names).
    """

    secret_inputs: ClassVar[dict[str, str]] = {}

    public_data = forms.JSONField(label="Data (non-secret fields)", required=False)

    class Meta:
        model = Credential
        fields = ("name", "expires_at", "errors")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Decrypted once, here; only ever used for validation, never rendered.
        stored = self.instance.data
        self._stored: dict[str, Any] = dict(stored) if isinstance(stored, dict) else {}
        self.fields["public_data"].initial = public_data(
            self.instance.type, self._stored, self.instance.redact_fields
        )
        for field_name, secret_name in self.secret_inputs.items():
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

    def clean_expires_at(self) -> Any:
        expires_at = self.cleaned_data.get("expires_at")
        if (
            "expires_at" in self.changed_data
            and expires_at is not None
            and expires_at <= timezone.now()
        ):
            raise forms.ValidationError("Must be in the future.")
        return expires_at

    def data_payload(self) -> dict[str, Any] | None:
        """The inner data to submit, or None when neither data nor a secret changed.

        Secrets left blank are left out, which the update service reads as "keep".
        """
        secret_changed = any(self.cleaned_data.get(f) for f in self.secret_inputs)
        if "public_data" not in self.changed_data and not secret_changed:
            return None
        payload = dict(self.cleaned_data.get("public_data") or {})
        for field_name, secret_name in self.secret_inputs.items():
            if self.cleaned_data.get(field_name):
                payload[secret_name] = self.cleaned_data[field_name]
        return payload

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.errors or CREDENTIAL_TYPES.get(self.instance.type) is None:
            return cleaned
        payload = self.data_payload()
        if payload is not None:
            try:
                credential_data_clean(
                    organisation=self.instance.organisation,
                    type=self.instance.type,
                    data=payload,
                    stored=self._stored,
                    stored_redact=list(self.instance.redact_fields or []),
                )
            except PatchbayError as exc:
                _add_service_errors(self, exc, self.secret_inputs)
        return cleaned

    def full_clean(self) -> None:
        super().full_clean()
        # Whatever failed (the data box, or another field before the box was even checked),
        # the page comes back with the box: never with a secret pasted into it.
        if self.is_bound and self.errors:
            submitted = self.fields["public_data"].bound_data(
                self.data.get(self.add_prefix("public_data")), {}
            )
            shown = public_data(self.instance.type, submitted, self.instance.redact_fields)
            redisplay_json(self, "public_data", shown)


def change_form_for(credential: Credential) -> type[CredentialChangeForm]:
    """A change form with one write-only password input per secret field of this credential."""
    secret_inputs = {f"{SECRET_PREFIX}{i}": name for i, name in enumerate(secret_names(credential))}
    attrs: dict[str, Any] = {
        field_name: forms.CharField(
            label=secret_name,
            required=False,
            strip=False,
            # render_value=False: a stored or rejected secret never goes back to the browser.
            widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        )
        for field_name, secret_name in secret_inputs.items()
    }
    attrs["secret_inputs"] = secret_inputs
    return type("CredentialChangeForm", (CredentialChangeForm,), attrs)
