"""Browser routes under ``/embed/``: the connect panel, ``connect.js`` and the panel's script."""

from __future__ import annotations

from django.urls import path

from embed import widget_views

urlpatterns = [
    path("assets/<str:name>", widget_views.widget_asset, name="embed-asset"),
    path("<uuid:hub_id>/", widget_views.panel, name="embed-panel"),
    path("<uuid:hub_id>/connect.js", widget_views.connect_js, name="embed-connect-js"),
]
