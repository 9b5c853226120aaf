"""Domain errors raised by services and turned into the API's error shape.

Every error the API answers with has the shape
``{"code": "snake_case", "message": "...", "fields": [{"field": "a.b[0]", "message": "..."}]}``.
Services raise :class:`PatchbayError`; views never build error bodies by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass
class PatchbayError(Exception):
    """An error a caller can act on. ``status`` is the HTTP status the API answers with."""

    code: str
    message: str
    status: int = 400
    fields: list[FieldError] = field(default_factory=list)

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        body: dict[str, object] = {"code": self.code, "message": self.message}
        if self.fields:
            body["fields"] = [{"field": f.field, "message": f.message} for f in self.fields]
        return body


def not_found(what: str = "resource") -> PatchbayError:
    return PatchbayError("not_found", f"No such {what}.", status=404)


def invalid(field_name: str, message: str, code: str = "invalid_request") -> PatchbayError:
    return PatchbayError(code, message, status=400, fields=[FieldError(field_name, message)])
