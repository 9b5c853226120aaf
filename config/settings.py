"""Patchbay settings: one module, driven by environment variables (SPEC §2)."""

from __future__ import annotations

import base64
import logging
import os
import secrets
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import django_stubs_ext
import environ
from csp import constants as csp_constants
from django.core.exceptions import ImproperlyConfigured

# Lets generic classes such as ModelAdmin[Model] be subscripted at runtime.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
# The optional .env file; its path can be moved (tests do) with PATCHBAY_ENV_FILE.
ENV_FILE = Path(os.environ.get("PATCHBAY_ENV_FILE") or BASE_DIR / ".env")

env = environ.Env()
if ENV_FILE.exists():
    environ.Env.read_env(str(ENV_FILE), overwrite=False)

logger = logging.getLogger("patchbay.settings")

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required unless DEBUG is true.")
    SECRET_KEY = "django-insecure-patchbay-development-only-key-do-not-use-in-production"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

# --- Patchbay -------------------------------------------------------------

PATCHBAY_PUBLIC_URL = env.str("PATCHBAY_PUBLIC_URL", default="http://127.0.0.1:8000").rstrip("/")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
PATCHBAY_ALLOW_INSECURE_HTTP = env.bool("PATCHBAY_ALLOW_INSECURE_HTTP", default=False)
PATCHBAY_ALLOW_PRIVATE_NETWORKS = env.bool("PATCHBAY_ALLOW_PRIVATE_NETWORKS", default=False)
PATCHBAY_STATE_TTL_SECONDS = env.int("PATCHBAY_STATE_TTL_SECONDS", default=600)
# After a webhook secret is rotated, deliveries are signed with the old secret as well for
# this long, so receivers can switch over without dropping a delivery (0: cut at once).
PATCHBAY_WEBHOOK_SECRET_OVERLAP_SECONDS = env.int(
    "PATCHBAY_WEBHOOK_SECRET_OVERLAP_SECONDS", default=24 * 3600
)
# Loopback redirectUrls (RFC 8252 native and CLI clients) for API-finished flows: any
# process on the machine that ends up holding the browser can listen there, so only
# where that is the developer's own laptop unless asked for.
PATCHBAY_ALLOW_LOOPBACK_REDIRECTS = env.bool("PATCHBAY_ALLOW_LOOPBACK_REDIRECTS", default=DEBUG)
# Outbound HTTP (token endpoints, revocation, webhooks): (connect, read) seconds
# and the largest response body Patchbay will read.
PATCHBAY_HTTP_TIMEOUT = (
    env.float("PATCHBAY_HTTP_CONNECT_TIMEOUT", default=5.0),
    env.float("PATCHBAY_HTTP_READ_TIMEOUT", default=15.0),
)
# The absolute deadline of one whole outbound request (a server trickling bytes is cut
# there), and the shorter ones for URLs a tenant chose: a token endpoint (exchange,
# refresh, grants, revocation) or a webhook must not hold a web or worker thread for long.
PATCHBAY_HTTP_DEADLINE = env.float(
    "PATCHBAY_HTTP_DEADLINE_SECONDS", default=sum(PATCHBAY_HTTP_TIMEOUT) * 2
)
PATCHBAY_HTTP_TOKEN_DEADLINE = env.float("PATCHBAY_HTTP_TOKEN_DEADLINE_SECONDS", default=10.0)
PATCHBAY_HTTP_WEBHOOK_DEADLINE = env.float("PATCHBAY_HTTP_WEBHOOK_DEADLINE_SECONDS", default=10.0)
PATCHBAY_HTTP_MAX_RESPONSE_BYTES = env.int("PATCHBAY_HTTP_MAX_RESPONSE_BYTES", default=1_048_576)
# The proxy (SPEC §9.1): the largest request body it takes, the largest answer it passes
# back, and the absolute deadline of one proxied request, retries included.
PATCHBAY_PROXY_MAX_BODY_BYTES = env.int("PATCHBAY_PROXY_MAX_BODY_BYTES", default=10 * 1024 * 1024)
PATCHBAY_PROXY_MAX_RESPONSE_BYTES = env.int(
    "PATCHBAY_PROXY_MAX_RESPONSE_BYTES", default=50 * 1024 * 1024
)
PATCHBAY_PROXY_DEADLINE_SECONDS = env.float("PATCHBAY_PROXY_DEADLINE_SECONDS", default=60.0)
# Internal consumers' JWT id_tokens (SPEC §11, organisations/idp.py): the IdP whose
# tokens are accepted (unset: JWTs are refused), the audience they must carry and the
# claim that names the organisation. The key set is used for an hour before it is
# fetched again, and an IdP request gets at most this many seconds.
PATCHBAY_IDP_ISSUER = env.str("PATCHBAY_IDP_ISSUER", default="")
PATCHBAY_IDP_AUDIENCE = env.str("PATCHBAY_IDP_AUDIENCE", default="")
PATCHBAY_IDP_ORGANISATION_CLAIM = env.str("PATCHBAY_IDP_ORGANISATION_CLAIM", default="org_id")
PATCHBAY_IDP_JWKS_MAX_AGE_SECONDS = env.int("PATCHBAY_IDP_JWKS_MAX_AGE_SECONDS", default=3600)
PATCHBAY_HTTP_IDP_DEADLINE = env.float("PATCHBAY_HTTP_IDP_DEADLINE_SECONDS", default=5.0)
if PATCHBAY_IDP_ISSUER and not PATCHBAY_IDP_AUDIENCE:
    raise ImproperlyConfigured(
        "PATCHBAY_IDP_AUDIENCE is required with PATCHBAY_IDP_ISSUER: which tokens are for us?"
    )
# Demo mode: serve the demo OAuth 2.0 provider from this process (make run).
PATCHBAY_DEMO = env.bool("PATCHBAY_DEMO", default=False)
# Where `manage.py demo` keeps the demo API key (owner-only), beside the dev .env.
PATCHBAY_DEMO_KEY_FILE = Path(
    env.str("PATCHBAY_DEMO_KEY_FILE", default=str(ENV_FILE.with_name(ENV_FILE.name + ".demo-key")))
)
if PATCHBAY_DEMO and not DEBUG and urlsplit(PATCHBAY_PUBLIC_URL).hostname not in _LOOPBACK:
    # The demo provider has a published password, lets any signed-in user register OAuth
    # applications, and does not insist on PKCE: never on a reachable server.
    raise ImproperlyConfigured(
        "PATCHBAY_DEMO is for a laptop: it needs DEBUG or a loopback PATCHBAY_PUBLIC_URL."
    )


def _dev_encryption_keys() -> str:
    """The development key ring (DEBUG only): the one remembered in .env, else a new one.

    It lives under a variable of its own, which only DEBUG reads: a process started
    without DEBUG and without ``PATCHBAY_ENCRYPTION_KEYS`` from the same checkout must
    refuse to start, not encrypt production secrets under a key from a laptop's .env.
    """
    remembered = env.str("PATCHBAY_DEV_ENCRYPTION_KEYS", default="")
    if remembered:
        return remembered
    key = base64.b64encode(secrets.token_bytes(32)).decode()
    ring = f"dev1:{key}"
    # Readable by its owner only: it holds a key.
    descriptor = os.open(ENV_FILE, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(descriptor, "a", encoding="utf-8") as fh:
        fh.write("\n# Development only: read with DEBUG on, never without.\n")
        fh.write(f"PATCHBAY_DEV_ENCRYPTION_KEYS={ring}\n")
    os.environ["PATCHBAY_DEV_ENCRYPTION_KEYS"] = ring
    logger.warning(
        "PATCHBAY_ENCRYPTION_KEYS was not set: generated a development key into %s. "
        "Never use it in production.",
        ENV_FILE,
    )
    return ring


PATCHBAY_ENCRYPTION_KEYS = env.str("PATCHBAY_ENCRYPTION_KEYS", default="")
if not PATCHBAY_ENCRYPTION_KEYS:
    if not DEBUG:
        raise ImproperlyConfigured("PATCHBAY_ENCRYPTION_KEYS is required unless DEBUG is true.")
    PATCHBAY_ENCRYPTION_KEYS = _dev_encryption_keys()

# --- Django ---------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "organisations",
    "connectors",
    "credentials",
    "connections",
    "embed",
    "webhooks",
    # Admin login lockout (README "Operators: the admin"): failures are counted in the
    # database, so every web process sees the same count.
    "axes",
    "csp",
]
if PATCHBAY_DEMO:
    INSTALLED_APPS += ["oauth2_provider", "demo"]

MIDDLEWARE = [
    "core.middleware.ApiErrorShapeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on every response that has none of its own (the embed
    # panel and the OAuth callback page set theirs).
    "core.csp.CSPMiddleware",
    "core.middleware.RequestBodyLimitMiddleware",
    "core.middleware.NulCharacterGuardMiddleware",
    "core.ratelimit.AddressRateLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout answer.
    "axes.middleware.AxesMiddleware",
]

# django-axes sits first: it refuses a locked-out username + address before any password
# is checked, so the right password does not help once the limit is reached.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # The same backend, with a health check that asks the socket instead of sending
    # SELECT 1 before every request's first query (core/postgresql/base.py).
    DATABASES["default"]["ENGINE"] = "core.postgresql"
if DATABASES["default"]["ENGINE"] == "core.postgresql" and env.bool(
    "DATABASE_PREPARED_STATEMENTS", default=True
):
    # Server-side binding lets psycopg prepare statements a connection runs repeatedly,
    # so PostgreSQL stops re-planning the hot reads on every request (see README,
    # Benchmarks). Turn it off behind a transaction-pooling PgBouncer older than 1.21.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"server_side_binding": True, "prepare_threshold": 2}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"

# Request bodies: SPEC §5.1 caps API bodies at 64 KiB.
PATCHBAY_MAX_BODY_BYTES = 64 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = PATCHBAY_MAX_BODY_BYTES
DATA_UPLOAD_MAX_NUMBER_FIELDS = 200

# --- Security -------------------------------------------------------------

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https")
    if env.bool("TRUST_X_FORWARDED_PROTO", default=False)
    else None
)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# Every page Patchbay serves loads only its own scripts, styles, images and fonts; inline
# <style> blocks need the response's nonce, inline scripts and eval are never allowed; no
# page may be framed (the connect panel, with a policy of its own, is the one exception).
# The admin and the API docs (Swagger UI, served as split files) work under it.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", csp_constants.NONCE],
        # Swagger UI's and the admin's icons are inline SVG data URLs in their stylesheets.
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    },
}
# How many proxies of yours stand in front of Patchbay and append to X-Forwarded-For.
# 0: the client address is REMOTE_ADDR, and X-Forwarded-For (which anyone can send) is
# ignored by the login lockout and the rate limits alike.
PATCHBAY_NUM_PROXIES = env.int("PATCHBAY_NUM_PROXIES", default=0)

# --- Rate limits and the shared cache (core/ratelimit.py) ------------------

# The store every process shares: Redis when REDIS_URL is set, else the database
# (table patchbay_cache, made by `migrate`).
REDIS_URL = env.str("REDIS_URL", default="")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {
            # Django's database cache with one-statement writes (core/cache.py).
            "BACKEND": "core.cache.DatabaseCache",
            "LOCATION": "patchbay_cache",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    )
}
# Keys of several deployments (or tests) sharing one Redis stay apart.
CACHES["default"]["KEY_PREFIX"] = env.str("CACHE_KEY_PREFIX", default="patchbay")
PATCHBAY_RATE_LIMIT_CACHE = "default"
# on/off: off switches every limit off (load tests, bench/).
PATCHBAY_RATE_LIMITS = env.bool("PATCHBAY_RATE_LIMITS", default=True)
# "N/s", "N/min", "N/hour" or "N/day" each; README "Rate limits" says what each counts.
PATCHBAY_RATE_LIMIT_RATES = {
    "address": env.str("PATCHBAY_RATE_LIMIT_PER_ADDRESS", default="1200/min"),
    "key": env.str("PATCHBAY_RATE_LIMIT_PER_API_KEY", default="600/min"),
    "organisation": env.str("PATCHBAY_RATE_LIMIT_PER_ORGANISATION", default="3000/min"),
    "session": env.str("PATCHBAY_RATE_LIMIT_PER_CONNECT_SESSION", default="120/min"),
    "session_mint": env.str("PATCHBAY_RATE_LIMIT_SESSION_MINTING", default="300/min"),
    "callback": env.str("PATCHBAY_RATE_LIMIT_CALLBACKS", default="60/min"),
}

# --- Admin login lockout (django-axes) ------------------------------------

# After AXES_FAILURE_LIMIT failed sign-ins for one username from one address, that pair
# is refused (429, even with the right password) until AXES_COOLOFF_TIME has passed
# since the last failure. Per username *and* address: a lock on the username alone would
# let anyone lock the operators out.
AXES_FAILURE_LIMIT = env.int("PATCHBAY_ADMIN_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("PATCHBAY_ADMIN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_IPWARE_PROXY_COUNT = PATCHBAY_NUM_PROXIES or None
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if PATCHBAY_NUM_PROXIES else ["REMOTE_ADDR"]
)

# --- REST framework -------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "organisations.authentication.ApiKeyAuthentication",
        "organisations.idp_authentication.IdTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["core.api.StrictJSONParser"],
    # JSON only, whatever Accept says: an Accept that rules JSON out (text/html alone,
    # application/xml) answers 406 in the error shape. DRF's browsable API needs a
    # serializer_class per view to draw its forms, which Patchbay's views do not have;
    # /api/docs/ is the interactive way in.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's, with a shortcut for no Accept, */* and application/json (core/negotiation.py).
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "core.negotiation.ContentNegotiation",
    "DEFAULT_METADATA_CLASS": "core.api.RouteMetadata",
    "DEFAULT_PAGINATION_CLASS": "core.api.CursorPagination",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "core.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_CLASSES": [
        "core.ratelimit.ApiKeyThrottle",
        "core.ratelimit.OrganisationThrottle",
        "core.ratelimit.ConnectSessionThrottle",
        "core.ratelimit.ViewScopeThrottle",
    ],
    "NUM_PROXIES": PATCHBAY_NUM_PROXIES,
    "URL_FORMAT_OVERRIDE": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Patchbay API",
    "DESCRIPTION": (
        "Connectors, encrypted credentials, connections and the OAuth 2.0 "
        "authorization-code flow. Authenticate with `Authorization: Bearer <api key>`, "
        "or, for internal consumers, `Authorization: Bearer <JWT id_token>` from the IdP."
    ),
    "VERSION": "2.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v2",
    # Enums stay inline where they are used (core.wire.Choice): the default hook
    # would pull them into components named after the field, and one-value `type`
    # discriminators (`none`, `basic-auth` ...) shared by auth scheme configs and
    # credentials would collide.
    "POSTPROCESSING_HOOKS": [],
}

# --- Logging --------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django logs the full request on 4xx/5xx; keep its noise at warning.
        "django.request": {"level": "ERROR"},
        # Both log token request bodies and issued tokens at DEBUG: never let them.
        "requests_oauthlib": {"level": "WARNING"},
        "oauthlib": {"level": "WARNING"},
        # urllib3 logs every outbound URL at DEBUG, and webhook URLs often carry their
        # secret in the path; the demo provider logs its redirect (with the code).
        "urllib3": {"level": "WARNING"},
        "oauth2_provider": {"level": "WARNING"},
    },
}

# --- Demo provider (django-oauth-toolkit), demo mode only -------------------

OAUTH2_PROVIDER = {
    "PKCE_REQUIRED": False,
    "ACCESS_TOKEN_EXPIRE_SECONDS": env.int("PATCHBAY_DEMO_TOKEN_SECONDS", default=3600),
    "ROTATE_REFRESH_TOKEN": True,
    "SCOPES": {
        "read": "Read your demo data",
        "write": "Change your demo data",
        "offline_access": "Stay connected",
    },
    "DEFAULT_SCOPES": ["read"],
    "ALLOWED_REDIRECT_URI_SCHEMES": ["http", "https"],
}


def _demo_oidc_key() -> str:
    """The demo IdP's RSA signing key (PEM), kept owner-only beside the demo key file so
    that the server and ``manage.py demo_id_token`` sign and verify with the same one."""
    path = PATCHBAY_DEMO_OIDC_KEY_FILE
    if path.exists():
        return path.read_text()
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as fh:
        fh.write(pem)
    return pem


# The demo provider is also the demo IdP (README "Internal consumers"): OpenID Connect
# discovery and JWKS at /demo/provider/.well-known/, RS256 with the key above.
PATCHBAY_DEMO_OIDC_KEY_FILE = Path(
    env.str(
        "PATCHBAY_DEMO_OIDC_KEY_FILE",
        default=str(PATCHBAY_DEMO_KEY_FILE.with_name(PATCHBAY_DEMO_KEY_FILE.name + ".oidc.pem")),
    )
)
if PATCHBAY_DEMO:
    OAUTH2_PROVIDER["OIDC_ENABLED"] = True
    OAUTH2_PROVIDER["OIDC_RSA_PRIVATE_KEY"] = _demo_oidc_key()
    OAUTH2_PROVIDER["SCOPES"] = {**OAUTH2_PROVIDER["SCOPES"], "openid": "Sign you in"}
LOGIN_URL = "/demo/provider/login/"
