"""OpenAPI component of the organisation, for the docs only."""

from __future__ import annotations

from rest_framework import serializers

from core.openapi import DocSerializer


class OrganisationSerializer(DocSerializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    allowedRedirectUrls = serializers.ListField(child=serializers.CharField())
    createdAt = serializers.DateTimeField()
