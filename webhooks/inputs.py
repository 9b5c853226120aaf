"""What the webhooks API accepts: one declaration per body, the source of its validation
and of its OpenAPI schema."""

from __future__ import annotations

from core.wire import Bool, Input, Int, StringList, Text, Url
from webhooks.models import EventType

EVENT_TYPES: tuple[str, ...] = tuple(EventType.values)
_EVENTS_HELP = "Event types to receive; empty: all."


class WebhookEndpointCreate(Input):
    url = Url(required=True, help_text="https (http only to loopback when allowed).")
    description = Text(max_length=500, required=False, null_as="")
    events = StringList(
        choices=EVENT_TYPES,
        max_items=len(EVENT_TYPES),
        unique_sorted=True,
        required=False,
        null_message="Must be a list of event types (empty for all).",
        help_text=_EVENTS_HELP,
    )


class WebhookEndpointUpdate(WebhookEndpointCreate):
    url = Url(
        required=False,
        null_message="This field is required.",
        help_text="https (http only to loopback when allowed).",
    )
    active = Bool(required=False, null_message="Must be true or false.")


MAX_OVERLAP_SECONDS = 7 * 24 * 3600


class WebhookSecretRotate(Input):
    """Optional: how long the old secret keeps signing beside the new one."""

    overlapSeconds = Int(
        minimum=0,
        maximum=MAX_OVERLAP_SECONDS,
        required=False,
        source="overlap_seconds",
        help_text="Seconds the old secret also signs (0: cut at once; default: the "
        "server's PATCHBAY_WEBHOOK_SECRET_OVERLAP_SECONDS, 24 h unless changed).",
    )
