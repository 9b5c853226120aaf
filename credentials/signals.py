"""What credentials asks of the apps above it, which it does not import."""

from __future__ import annotations

from django.dispatch import Signal

#: Sent with ``credential`` before a credential is deleted. A receiver answers a
#: description of what of its own names the credential by id ("an auth scheme config"),
#: or None. (A connection's link needs no answer: its foreign key is ``PROTECT``.)
credential_uses = Signal()

#: Sent with ``organisation``, ``type`` (an input-only type, ``oauth2-code``) and ``values``
#: (its parsed data) when the credentials API is given a credential to exchange. The app
#: that runs the flow answers the ``Credential`` it stored (or raises the flow's error);
#: with no answer the API refuses the type (``use_oauth_flow``).
credential_exchange = Signal()
