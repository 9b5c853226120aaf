from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from oauth2_provider.views.generic import ProtectedResourceView
from oauth2_provider.views.mixins import ProtectedResourceMixin


class Me(ProtectedResourceView):
    """The demo provider's protected resource: whom the presented access token belongs to.

    django-oauth-toolkit checks the token; a missing, expired or revoked one answers 401
    with ``WWW-Authenticate: Bearer error="invalid_token"`` as RFC 6750 §3.1 says (the
    toolkit's own mixin answers 403), which is what clients such as the proxy act on.
    """

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        valid, oauth_request = self.verify_request(request)
        if not valid:
            response = JsonResponse({"error": "invalid_token"}, status=401)
            response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return response
        request.resource_owner = oauth_request.user  # type: ignore[attr-defined]
        return super(ProtectedResourceMixin, self).dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        owner = getattr(request, "resource_owner", None)
        return JsonResponse(
            {
                "sub": str(owner.pk) if owner is not None else None,
                "username": owner.get_username() if owner is not None else None,
            }
        )
