"""Browser routes under ``/embed/``: the connect panel, ``connect.js`` and the panel's script."""

from __future__ import annotations

from django.urls import path

from embed import flow_views, widget_views

urlpatterns = [
    path("assets/<str:name>", widget_views.widget_asset, name="embed-asset"),
    path("flow/start", flow_views.flow_start_page, name="embed-flow-start"),
    path("flow/bind", flow_views.FlowBindView.as_view(), name="embed-flow-bind"),
    path("<uuid:hub_id>/", widget_views.panel, name="embed-panel"),
    path("<uuid:hub_id>/connect.js", widget_views.connect_js, name="embed-connect-js"),
]
