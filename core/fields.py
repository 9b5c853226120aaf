"""``EncryptedJSONField``: the one place values are encrypted and decrypted.

The associated data must name the row, which a plain field's
``get_prep_value``/``from_db_value`` cannot see. So the column holds the
envelope, ``from_db_value`` wraps it in :class:`Sealed`, a descriptor decrypts
on first access (it has the instance) and ``pre_save`` encrypts (it has the
instance too). Rows therefore need their primary key before the first save:
every model using this field has a client-side UUID default.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models

from core.crypto import key_ring


class Sealed(str):
    """A ciphertext as read from the database, not yet decrypted."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Sealed(<ciphertext>)"


class _Descriptor:
    def __init__(self, field: EncryptedJSONField) -> None:
        self.field = field

    def __get__(self, instance: models.Model | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__.get(self.field.attname)
        if isinstance(value, Sealed):
            value = self.field.decrypt(instance, value)
            # A model that keeps plaintext copies of a sealed value checks them here.
            opened = getattr(instance, "sealed_opened", None)
            if opened is not None:
                opened(self.field, value)
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance: models.Model, value: Any) -> None:
        instance.__dict__[self.field.attname] = value


class EncryptedJSONField(models.TextField):
    """A JSON value stored as AES-256-GCM ciphertext bound to organisation/table/column/row.

    ``organisation_attr`` names the attribute holding the owning organisation's id.
    """

    # django-stubs reads these to type model attributes: any JSON value in, any out.
    _pyi_private_set_type: Any
    _pyi_private_get_type: Any

    def __init__(
        self, *args: Any, organisation_attr: str = "organisation_id", **kwargs: Any
    ) -> None:
        self.organisation_attr = organisation_attr
        kwargs.setdefault("editable", False)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.organisation_attr != "organisation_id":
            kwargs["organisation_attr"] = self.organisation_attr
        kwargs.pop("editable", None)
        return name, path, args, kwargs

    def contribute_to_class(
        self, cls: type[models.Model], name: str, private_only: bool = False
    ) -> None:
        super().contribute_to_class(cls, name, private_only=private_only)
        setattr(cls, self.attname, _Descriptor(self))

    def associated_data(self, instance: models.Model) -> bytes:
        return self.associated_data_for(getattr(instance, self.organisation_attr), instance.pk)

    def associated_data_for(self, organisation: Any, pk: Any) -> bytes:
        """What the ciphertext of row ``pk`` of ``organisation`` is bound to (for readers of
        the raw column, such as key rotation, that build no instance)."""
        assert self.model is not None
        return "|".join(
            ["patchbay", str(organisation), self.model._meta.db_table, self.column, str(pk)]
        ).encode()

    def decrypt(self, instance: models.Model, envelope: str) -> Any:
        return json.loads(key_ring().decrypt(envelope, self.associated_data(instance)))

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> Sealed | None:
        return None if value is None else Sealed(value)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = getattr(model_instance, self.attname)  # decrypts a Sealed value first
        if value is None:
            return None
        plaintext = json.dumps(value, separators=(",", ":"), sort_keys=True).encode()
        return key_ring().encrypt(plaintext, self.associated_data(model_instance))

    def get_prep_value(self, value: Any) -> Any:
        # Reached only for lookups and for values pre_save already sealed.
        if value is None or isinstance(value, str):
            return value
        raise TypeError("Encrypted fields cannot be used in lookups by plaintext value.")

    def value_to_string(self, obj: models.Model) -> str:
        return "<encrypted>"
