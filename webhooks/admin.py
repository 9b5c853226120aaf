"""Operators' admin for webhook events, endpoints and deliveries (SPEC §7, §9).

An endpoint's secret is never displayed: it is generated when the endpoint is
added and by the "rotate secret" action, and shown once, in the message on the
page the admin redirects to. Events are read-only records; deliveries are
read-only too, apart from the "redeliver" action.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from core.admin import shown_once
from core.errors import PatchbayError
from core.validation import url_problem
from webhooks.models import Event, WebhookDelivery, WebhookEndpoint
from webhooks.services import (
    EVENT_TYPES,
    MAX_ENDPOINTS,
    delivery_redeliver,
    endpoint_secret_rotate,
)
from webhooks.signing import secret_generate


class ReadOnlyAdmin(admin.ModelAdmin[Any]):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ("type", "id", "organisation", "created_at")
    list_filter = ("type", "organisation")
    list_select_related = ("organisation",)
    search_fields = ("=id", "type", "organisation__name", "=organisation__id")
    fields = ("id", "organisation", "type", "data", "created_at")
    readonly_fields = fields


class WebhookEndpointForm(forms.ModelForm[WebhookEndpoint]):
    events = forms.MultipleChoiceField(
        choices=[(t, t) for t in EVENT_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event type.",
    )

    class Meta:
        model = WebhookEndpoint
        fields = ("organisation", "url", "description", "events", "active")

    def clean_url(self) -> str:
        url = str(self.cleaned_data.get("url") or "")
        problem = url_problem(url)
        if problem is not None:
            raise forms.ValidationError(problem)
        return url

    def clean_events(self) -> list[str]:
        return sorted(set(self.cleaned_data.get("events") or []))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        organisation = cleaned.get("organisation")
        adding = self.instance._state.adding
        if adding and organisation is not None:
            count = WebhookEndpoint.objects.filter(organisation=organisation).count()
            if count >= MAX_ENDPOINTS:
                raise forms.ValidationError(
                    f"An organisation may have at most {MAX_ENDPOINTS} webhook endpoints."
                )
        return cleaned


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    form = WebhookEndpointForm
    list_display = (
        "url",
        "description",
        "organisation",
        "active",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    )
    list_filter = ("active", "organisation")
    list_select_related = ("organisation",)
    search_fields = ("url", "description", "=id", "organisation__name", "=organisation__id")
    # `secret` is deliberately absent everywhere.
    actions = ("rotate_secret",)

    def get_readonly_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> Any:
        readonly = ("id", "created_at", "updated_at")
        return (
            readonly if obj is None else (*readonly, "organisation", "previous_secret_expires_at")
        )

    def get_fields(self, request: HttpRequest, obj: WebhookEndpoint | None = None) -> Any:
        fields = ("organisation", "url", "description", "events", "active")
        if obj is None:
            return fields
        return ("id", *fields, "previous_secret_expires_at", "created_at", "updated_at")

    def save_model(
        self,
        request: HttpRequest,
        obj: WebhookEndpoint,
        form: forms.ModelForm[WebhookEndpoint],
        change: bool,
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        secret = secret_generate()
        obj.secret = secret
        super().save_model(request, obj, form, change)
        # Kept in memory for response_add, the one place the secret is shown.
        obj._shown_once = secret  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: WebhookEndpoint, post_url_continue: str | None = None
    ) -> HttpResponse:
        secret = getattr(obj, "_shown_once", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        return shown_once(
            request,
            title="Webhook endpoint added",
            secrets=[(f"Signing secret for {obj.url}", secret)],
            next_url=reverse("admin:webhooks_webhookendpoint_change", args=[obj.pk]),
        )

    @admin.action(
        description="Rotate signing secret (shows the new one once)", permissions=["change"]
    )
    def rotate_secret(
        self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]
    ) -> HttpResponse:
        rotated = [
            (
                f"New signing secret for {endpoint.url}",
                endpoint_secret_rotate(endpoint=endpoint).secret,
            )
            for endpoint in queryset
        ]
        overlap = settings.PATCHBAY_WEBHOOK_SECRET_OVERLAP_SECONDS
        return shown_once(
            request,
            title=(
                f"Signing secrets rotated (the old ones also sign for {overlap} seconds)"
                if overlap
                else "Signing secrets rotated"
            ),
            secrets=rotated,
            next_url=reverse("admin:webhooks_webhookendpoint_changelist"),
        )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "event_type",
        "endpoint",
        "organisation",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
        "dead_at",
        "created_at",
    )
    list_filter = ("organisation",)
    list_select_related = ("organisation", "endpoint", "event")
    search_fields = ("=id", "=event__id", "endpoint__url", "organisation__name")
    fields = (
        "id",
        "organisation",
        "endpoint",
        "event",
        "event_type",
        "status",
        "attempts",
        "next_attempt_at",
        "locked_until",
        "last_attempt_at",
        "last_status_code",
        "last_error",
        "delivered_at",
        "dead_at",
        "created_at",
    )
    readonly_fields = fields
    actions = ("redeliver",)

    @admin.display(description="event type", ordering="event__type")
    def event_type(self, obj: WebhookDelivery) -> str:
        return obj.event.type

    @admin.display(description="status")
    def status(self, obj: WebhookDelivery) -> str:
        return obj.status

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(description="Redeliver", permissions=["redeliver"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        queued, refused = 0, 0
        for delivery in queryset:
            try:
                delivery_redeliver(delivery=delivery)
                queued += 1
            except PatchbayError:
                refused += 1
        self.message_user(
            request, f"Queued {queued} delivery(ies) for redelivery.", messages.SUCCESS
        )
        if refused:
            self.message_user(
                request, f"{refused} skipped: their endpoint is disabled.", messages.WARNING
            )
