"""DRF's error detail as :class:`~core.errors.FieldError` paths, and the one 400 they make."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rest_framework import serializers

from core import validation as v
from core.errors import FieldError, PatchbayError

NON_FIELD = "non_field_errors"


# --- Errors ---------------------------------------------------------------------------


def field_errors(detail: Any, path: str = "") -> list[FieldError]:
    """DRF's nested error detail as ``[FieldError("a.b[0].c", "...")]``, in order."""
    if isinstance(detail, Mapping):
        out: list[FieldError] = []
        for key, value in detail.items():
            if key == NON_FIELD:
                child = path
            elif isinstance(key, int):
                child = f"{path}[{key}]"
            elif str(key).startswith("["):  # a relative path from a core.validation cleaner
                child = f"{path}{key}"
            else:
                child = f"{path}.{key}" if path else str(key)
            out.extend(field_errors(value, child))
        return out
    if isinstance(detail, Sequence) and not isinstance(detail, str):
        if all(isinstance(item, str) for item in detail):
            return [FieldError(path or "body", str(item)) for item in detail]
        out = []
        for index, item in enumerate(detail):
            out.extend(field_errors(item, f"{path}[{index}]"))
        return out
    return [FieldError(path or "body", str(detail))]


def invalid_request(fields: list[FieldError], code: str = "invalid_request") -> PatchbayError:
    """One 400 for every problem, worded as :class:`core.validation.Problems` words it."""
    problems = v.Problems()
    problems.fields = fields
    try:
        problems.raise_if_any(code)
    except PatchbayError as exc:
        return exc
    raise AssertionError("no problems to report")  # pragma: no cover


def cleaned(run: Callable[[v.Problems], Any]) -> Any:
    """Run a ``core.validation`` cleaner given the path ``""`` and raise what it noted as
    DRF's ``ValidationError``, with paths relative to the field (``""``, ``[0]``, ``a.b``)."""
    problems = v.Problems()
    value = run(problems)
    if not problems:
        return value
    if all(f.field in ("", "body") for f in problems.fields):
        raise serializers.ValidationError([f.message for f in problems.fields])
    detail: dict[str, list[str]] = {}
    for f in problems.fields:
        detail.setdefault(NON_FIELD if f.field in ("", "body") else f.field, []).append(f.message)
    raise serializers.ValidationError(detail)
