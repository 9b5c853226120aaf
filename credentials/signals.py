"""What credentials asks of the apps above it, which it does not import."""

from __future__ import annotations

from django.dispatch import Signal

#: Sent with ``credential`` before a credential is deleted. A receiver answers a
#: description of what of its own names the credential by id ("an auth scheme config"),
#: or None. (A connection's link needs no answer: its foreign key is ``PROTECT``.)
credential_uses = Signal()
