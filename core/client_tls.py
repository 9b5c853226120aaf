"""TLS client certificates (mTLS, RFC 8705) for the outbound seam.

A ``certificate`` credential holds a PEM certificate (chain), its private key and
optionally a CA. :func:`client_context` turns one into an ``ssl.SSLContext`` that
presents the certificate and trusts **only** that CA when there is one (else the
same bundle the seam uses for every other call, certifi's).

Python's ``ssl`` loads a certificate and key only from a file name
(``SSLContext.load_cert_chain`` has no in-memory form; ``load_verify_locations``
takes ``cadata``, so the CA needs no file). The key must never touch a file other
users, or a backup, could read, so:

* on Linux it goes into an anonymous memory file (``os.memfd_create``, mode 0600,
  close-on-exec) that OpenSSL opens as ``/proc/self/fd/N``: it exists in no
  directory, is never on disk, and is closed as soon as OpenSSL has read it;
* elsewhere it goes into an owner-only file (0600) in a private directory made by
  ``tempfile.mkdtemp`` (0700), removed with its directory at once, in ``finally``.

OpenSSL asks for a passphrase on the terminal when a key is encrypted and no
password is given, which would hang a server process: the password callback
refuses instead. Errors say what is wrong in words of our own, never the PEM.
"""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from requests.utils import DEFAULT_CA_BUNDLE_PATH


@dataclass(frozen=True)
class ClientCertificate:
    """A client certificate, its private key and the CA to trust. ``repr`` hides the key."""

    certificate: str
    key: str = field(repr=False)
    ca: str = ""
    credential_id: str = ""


class ClientCertificateError(Exception):
    """The certificate credential cannot be used for TLS. The message names no secret."""


class _EncryptedKey(Exception):
    pass


def _no_password() -> bytes:
    raise _EncryptedKey


# Set to False by tests to exercise the owner-only temporary file.
USE_MEMFD = hasattr(os, "memfd_create")


@contextmanager
def _key_file(pem: bytes) -> Iterator[str]:
    """A file name OpenSSL can read ``pem`` from, valid only inside the ``with``."""
    if USE_MEMFD:
        fd = os.memfd_create("patchbay-client-certificate", os.MFD_CLOEXEC)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, pem)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    directory = tempfile.mkdtemp(prefix="patchbay-tls-")  # 0700, only ours
    try:
        path = os.path.join(directory, "client.pem")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _load(what: str, action: Callable[[], None]) -> None:
    try:
        action()
    except _EncryptedKey:
        raise ClientCertificateError(
            "The certificate credential's key is encrypted: store it without a passphrase."
        ) from None
    except (ssl.SSLError, OSError, ValueError):
        # OpenSSL's reason codes never quote the PEM, but say it in our words anyway.
        raise ClientCertificateError(
            f"The certificate credential's {what} is not usable."
        ) from None


def client_context(certificate: ClientCertificate) -> ssl.SSLContext:
    """An ``SSLContext`` (TLS 1.2+, hostname checked) presenting ``certificate``.

    With ``ca`` set, that CA is the only trust anchor; otherwise the seam's usual bundle.
    Raises :class:`ClientCertificateError` for a certificate, key or CA that does not load
    (including a key that does not belong to the certificate).
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # no CA loaded yet, unlike the default
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    if certificate.ca.strip():
        _load("ca", lambda: context.load_verify_locations(cadata=certificate.ca))
    else:
        context.load_verify_locations(cafile=DEFAULT_CA_BUNDLE_PATH)
    # One file: the chain first, then the key (load_cert_chain reads the key from it too).
    pem = (certificate.certificate.strip() + "\n" + certificate.key.strip() + "\n").encode()
    with _key_file(pem) as name:
        _load(
            "certificate or key",
            lambda: context.load_cert_chain(name, password=_no_password),
        )
    return context
