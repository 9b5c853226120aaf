"""Test settings: the real settings module, with only what tests must change.

Environment defaults are set before the real settings are imported, so the
same module runs the suite on SQLite (default) or PostgreSQL (DATABASE_URL).
"""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-secret-key-" + "x" * 40)
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault(
    "PATCHBAY_ENCRYPTION_KEYS",
    "test1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
)
# The tests' OAuth provider runs on loopback over plain http.
os.environ.setdefault("PATCHBAY_ALLOW_INSECURE_HTTP", "true")
os.environ.setdefault("PATCHBAY_ALLOW_PRIVATE_NETWORKS", "true")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("PATCHBAY_DEMO", "true")
os.environ.setdefault("CONN_MAX_AGE", "0")
# `manage.py demo` keeps its API key in a file: never the checkout's.
os.environ.setdefault(
    "PATCHBAY_DEMO_KEY_FILE",
    os.path.join(tempfile.mkdtemp(prefix="patchbay-tests-"), "demo-key"),
)

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0

# Rate limits stay on, on a per-process cache (no queries counted against the views) and
# far above what any test sends; tests/test_rate_limits.py sets them low on the shared
# database cache and on Redis.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
PATCHBAY_RATE_LIMIT_RATES = dict.fromkeys(PATCHBAY_RATE_LIMIT_RATES, "1000000/min")  # noqa: F405
