"""What the organisation endpoint answers, rendered and documented from one class."""

from __future__ import annotations

from rest_framework import serializers

from core.wire import Output, Text, Timestamp, Uuid


class Organisation(Output):
    id = Uuid(source="pk")
    name = Text(max_length=200)
    # As stored: the admin is where they are set, so the wire states no limits of its own.
    allowedRedirectUrls = serializers.ListField(
        child=serializers.CharField(), source="allowed_redirect_urls"
    )
    createdAt = Timestamp(source="created_at")
