from __future__ import annotations

from django.urls import path

from organisations.views import OrganisationView

urlpatterns = [
    path("o/<str:organisation_id>", OrganisationView.as_view(), name="organisation-detail"),
]
