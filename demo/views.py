from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from oauth2_provider.views.generic import ProtectedResourceView


class Me(ProtectedResourceView):
    """The demo provider's protected resource: whom the presented access token belongs to."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        owner = getattr(request, "resource_owner", None)
        return JsonResponse(
            {
                "sub": str(owner.pk) if owner is not None else None,
                "username": owner.get_username() if owner is not None else None,
            }
        )
