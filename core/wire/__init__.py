"""One declaration per wire format: the serializers that validate input, render output
and describe both in the OpenAPI document.

An :class:`Input` is strict as SPEC §4 asks: a body that is not an object, an unknown
key, a control character, a value out of range — each is a :class:`FieldError` at its
path (``a.b[0].c``) and together one 400 :class:`PatchbayError`. ``null`` for an object
or a list is refused; for a scalar it counts as absent unless a field says otherwise
(``null_message`` refuses it, ``null_as`` stores a value); the document marks ``nullable``
exactly what parses ``null``. Messages describe what is wrong, never the value: a
rejected value may be a secret pasted into the wrong field. :meth:`Input.parse` uses one
instance per class and thread, its fields bound once (DRF would copy and bind every
declared field, and every nested object's, per body), and clears it after each body.

An :class:`Output` renders a model with :meth:`Output.render`: a plan compiled once per
class from the declared fields (attribute path and converter per key), so the hot paths
pay for a dict build, not for DRF's per-instance field copies. The same class is what the
views name in ``extend_schema``, so the document is generated from what renders.

Fields subclass DRF's own (``CharField``, ``BooleanField``…) so drf-spectacular maps
their type, length and format without help; their parsing is the project's.

The package: :mod:`core.wire.errors` (DRF's error detail as field paths, the one 400),
:mod:`core.wire.fields` (the field kinds), :mod:`core.wire.bodies` (``Input``, ``Output``
and how the document shows them) and :mod:`core.wire.compound` (an object nested at a key,
lists of objects, an object whose ``type`` picks its declaration). Import from here.
"""

from core.wire.bodies import Input, InputExtension, Output, OutputExtension
from core.wire.compound import (
    ListOf,
    Nested,
    ObjectList,
    ObjectListExtension,
    OneOf,
    OneOfOutput,
    render_mapping,
)
from core.wire.errors import NON_FIELD, cleaned, field_errors, invalid_request
from core.wire.fields import (
    Base64,
    Bool,
    Choice,
    ChoiceExtension,
    Computed,
    ComputedExtension,
    Int,
    Jwks,
    QueryString,
    Scopes,
    Secret,
    StringList,
    Text,
    Timestamp,
    Url,
    Uuid,
    WireField,
    url_facts,
)

__all__ = [
    "NON_FIELD",
    "Base64",
    "Bool",
    "Choice",
    "ChoiceExtension",
    "Computed",
    "ComputedExtension",
    "Input",
    "InputExtension",
    "Int",
    "Jwks",
    "ListOf",
    "Nested",
    "ObjectList",
    "ObjectListExtension",
    "OneOf",
    "OneOfOutput",
    "Output",
    "OutputExtension",
    "QueryString",
    "Scopes",
    "Secret",
    "StringList",
    "Text",
    "Timestamp",
    "Url",
    "Uuid",
    "WireField",
    "cleaned",
    "field_errors",
    "invalid_request",
    "render_mapping",
    "url_facts",
]
