"""Settings for the tracker, read from the environment only (12-factor).

Every variable has a local default that needs no server: SQLite and Celery's file-system broker under
``var/``, e-mail written to ``var/mail``. Production sets DATABASE_URL, REDIS_URL, EMAIL_URL, SECRET_KEY,
DEBUG=false, ALLOWED_HOSTS and SITE_URL.
"""

from __future__ import annotations

import datetime
import os
import secrets
from email.utils import getaddresses
from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)


def _local_secret_key() -> str:
    """A key generated once into var/ so that local sessions survive restarts; never used in production."""
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        # Processes that start together (web, worker and beat; the test workers) must not read a half-written
        # key: each writes its own file whole, and the first to link it in place wins.
        draft = key_file.with_name(f".secret_key.{os.getpid()}")
        draft.write_text(secrets.token_urlsafe(50))
        draft.chmod(0o600)
        try:
            os.link(draft, key_file)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return key_file.read_text().strip()


def _weak_secret_key(key: str) -> bool:
    """Django's own test (check security.W009): shorter than 50, fewer than 5 distinct characters, or generated
    by startproject ("django-insecure-")."""
    return len(key) < 50 or len(set(key)) < 5 or key.startswith("django-insecure-")


SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off. / DEBUG가 꺼져 있으면 SECRET_KEY 환경 변수가 필요합니다."
        )
    SECRET_KEY = _local_secret_key()
if not DEBUG and _weak_secret_key(SECRET_KEY):
    raise ImproperlyConfigured(
        "SECRET_KEY is weak: use at least 50 random characters, e.g. "
        "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'. / SECRET_KEY가 약합니다: "
        "무작위 문자 50자 이상을 쓰세요."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[SITE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "simple_history",
    "django_tables2",
    "django_filters",
    "axes",
    "csp",
    "import_export",
    "projects",
    "notifications",
    "people",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "projects:home"
LOGOUT_REDIRECT_URL = "login"

# How many reverse proxies in front of the app write X-Forwarded-For; the client's address is the one the
# outermost of them saw (tracker.client_ip). 0: no proxy, the header is ignored.
TRUSTED_PROXIES = env.int("TRUSTED_PROXIES", default=0)

# Login throttling (django-axes): after 5 failures for one user name from one address, a 15-minute cool-off
# counted from the fifth failure: attempts during the cool-off do not extend it. A password reset lifts it.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_CLIENT_IP_CALLABLE = "tracker.client_ip.client_ip"
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "tracker.middleware.KoreanFirstLocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    "csp.middleware.CSPMiddleware",
    "tracker.middleware.PrivateResponsesNotStoredMiddleware",
]

# Content-Security-Policy (django-csp): scripts, style sheets, images and fonts from this site only; no inline
# script, no plug-ins, no framing, forms post only here. Style *attributes* stay allowed: the digest page shares
# its markup with the e-mail (mail programs ignore style sheets) and the dashboard's and charts' bars are sized
# with them; a style attribute cannot run script, and <style> elements stay forbidden.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "style-src-attr": [UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

ROOT_URLCONF = "tracker.urls"
WSGI_APPLICATION = "tracker.wsgi.application"

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
                "django.template.context_processors.i18n",
                "notifications.status.admin_banner",
            ],
        },
    },
]

# Uploads (the admin's spreadsheet import): at most UPLOAD_MAX_MB (default 10) per file, dropped while they
# arrive if larger; an XLSX may unpack to at most UPLOAD_XLSX_MAX_UNPACKED_MB (default 100) before it is parsed.
# Files up to the limit stay in memory (no temporary file); between preview and confirm the upload waits in
# the cache (projects.spreadsheets.uploads), never in the temporary directory.
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_MB", default=10) * 1_048_576
UPLOAD_XLSX_MAX_UNPACKED_BYTES = env.int("UPLOAD_XLSX_MAX_UNPACKED_MB", default=100) * 1_048_576
FILE_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES
FILE_UPLOAD_HANDLERS = [
    "projects.spreadsheets.uploads.UploadSizeLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # Django's default for the form fields besides files, said here
IMPORT_EXPORT_TMP_STORAGE_CLASS = "projects.spreadsheets.uploads.UploadCacheStorage"
# An import of more data rows than this is checked and imported by a Celery worker, its progress shown in the
# admin (projects.spreadsheets.jobs; docs/decisions.md); smaller files are previewed in the request, as before.
IMPORT_BACKGROUND_ROWS = env.int("IMPORT_BACKGROUND_ROWS", default=5000)
IMPORT_CHUNK_ROWS = 1000  # rows checked between two progress updates of a background import

DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'tracker.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the worker and beat share one file: wait for locks rather than fail, and take the
    # write lock at the start of a transaction so that two writers never deadlock on an upgrade.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "ko"
LANGUAGES = [("ko", _("한국어")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Seoul"
USE_I18N = True
USE_TZ = True

# One table template for every django-tables2 table: cards on phones, Korean pagination (templates/django_tables2/).
DJANGO_TABLES2_TEMPLATE = "django_tables2/tracker.html"

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# E-mail: kept as files under var/mail unless EMAIL_URL names a server (smtp://host:port).
if env.str("EMAIL_URL", default=""):
    _email = env.email_url("EMAIL_URL")
    EMAIL_BACKEND = _email["EMAIL_BACKEND"]
    EMAIL_HOST = _email["EMAIL_HOST"] or "localhost"
    EMAIL_PORT = _email["EMAIL_PORT"] or 25
    EMAIL_HOST_USER = _email["EMAIL_HOST_USER"] or ""
    EMAIL_HOST_PASSWORD = _email["EMAIL_HOST_PASSWORD"] or ""
    EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
    EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
# Who the e-mails are from (DEFAULT_FROM_EMAIL) and who error reports to admins are from (SERVER_EMAIL): a
# production relay refuses or spam-folders a sender on "localhost", so both come from the environment.
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="부산 성장전략 TF <tracker@localhost>")
SERVER_EMAIL = env.str("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)

# Delivery timeouts. They nest, each with room to spare, so that no clock runs out under a sender that is
# still working, and a sender that died gives its rows back within a minute (docs/decisions.md, "Delivery
# through outages"):
#   EMAIL_TIMEOUT × OUTBOX_CLAIM_BATCH  <  DISPATCH_SOFT_TIME_LIMIT  <  DISPATCH_TIME_LIMIT  <  OUTBOX_LEASE
#   10 s × 4 = 40 s                     <  45 s                      <  48 s                 <  50 s
#   and OUTBOX_LEASE + the dispatch tick (10 s) <= 60 s  <  CELERY_TASK_TIME_LIMIT (5 min)  <  visibility (1 h)
# - EMAIL_TIMEOUT (each socket operation of the SMTP conversation): ten times what the slowest relay we
#   know (1 s per message) needs; the first timeout ends the batch (the server is treated as unreachable).
# - A dispatch run claims no new batch after DISPATCH_BUDGET, so a whole run is one budget plus one batch.
# - The lease is renewed while its sender works, so a long run never loses it; a dead sender's rows come back
#   at the first dispatch tick after OUTBOX_LEASE.
# - The visibility timeout only bounds how late Redis re-delivers a task whose worker vanished; the outbox
#   rows, not the task, carry the work, so it can be long without delaying anything.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
OUTBOX_CLAIM_BATCH = 4
DISPATCH_BUDGET = 4  # seconds of claiming per run; then a fresh task continues (tasks stay short)
DISPATCH_SOFT_TIME_LIMIT = 45
DISPATCH_TIME_LIMIT = 48
OUTBOX_LEASE_SECONDS = 50
DISPATCH_TICK_SECONDS = 10.0
# Dispatch chains a backlog fans out into: one per worker process of the shipped setup (1 worker × 2), and two
# more for workers added with `docker compose up --scale worker=N`; a chain with nothing to do ends at once.
DISPATCH_FANOUT = env.int("DISPATCH_FANOUT", default=4)
if EMAIL_TIMEOUT * OUTBOX_CLAIM_BATCH + DISPATCH_BUDGET > DISPATCH_SOFT_TIME_LIMIT:
    raise ImproperlyConfigured(
        f"EMAIL_TIMEOUT={EMAIL_TIMEOUT}s is too long: one batch of {OUTBOX_CLAIM_BATCH} would outlive the dispatch "
        f"task's {DISPATCH_SOFT_TIME_LIMIT}s limit. / EMAIL_TIMEOUT가 너무 깁니다."
    )


def _admins(value: str) -> list[tuple[str, str]]:
    """ADMINS="홍길동 <hong@example.go.kr>, ops@example.go.kr": RFC 5322 addresses, comma-separated."""
    return [(name or address, address) for name, address in getaddresses([value]) if "@" in address]


# Told by e-mail when delivery has been failing for an hour (notifications/runs.py), once per outage.
ADMINS = _admins(env.str("ADMINS", default=""))
EMAIL_SUBJECT_PREFIX = env.str("EMAIL_SUBJECT_PREFIX", default="[부산 성장전략 TF] ")

# /metrics (Prometheus) answers only with "Authorization: Bearer <METRICS_TOKEN>"; unset, it does not exist.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# Celery: Redis when REDIS_URL is set, otherwise the file-system transport under var/ (no server needed).
REDIS_URL = env.str("REDIS_URL", default="")
# The other tasks (planners) are bounded by these; the dispatcher by its own, shorter limits above.
CELERY_TASK_TIME_LIMIT = 300
# The cache holds short-lived counters (password-reset rate limits), shared by every web process via Redis.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "tracker",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
CELERY_TASK_SOFT_TIME_LIMIT = 240
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # kombu's Redis transport with one fix: a worker whose broker restarted while it ran a task survives
    # (tracker/broker.py).
    CELERY_BROKER_TRANSPORT = "tracker.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
else:
    _broker_dir = VAR_DIR / "broker"
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Beat records its own heartbeat in the database as it ticks (notifications/beat.py, /health/).
CELERY_BEAT_SCHEDULER = "notifications.beat:HeartbeatScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Keep trying to reach the broker for as long as it is down (the default gives up after 100 tries and exits).
CELERY_BROKER_CONNECTION_MAX_RETRIES = None
CELERY_TASK_ANNOTATIONS = {
    "notifications.tasks.dispatch_outbox": {
        "soft_time_limit": DISPATCH_SOFT_TIME_LIMIT,
        "time_limit": DISPATCH_TIME_LIMIT,
    }
}

# Production hardening, on whenever DEBUG is off.
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    # Compose's healthcheck asks gunicorn directly over plain HTTP; /health/ holds nothing secret.
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # The preload directive only allows a manual submission to the browsers' list; it enrolls nothing by itself.
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # django-health-check logs every failing check with a traceback; /health/ logs one line itself instead.
    "loggers": {"health_check": {"level": "ERROR"}},
}

# Beat only ticks: the planner and the dispatcher decide from the database what is due.
CELERY_BEAT_SCHEDULE = {
    "plan-reminders": {"task": "notifications.tasks.plan_reminders", "schedule": 300.0},
    "plan-digests": {"task": "notifications.tasks.plan_digests", "schedule": 300.0},
    "dispatch-outbox": {"task": "notifications.tasks.dispatch_outbox", "schedule": DISPATCH_TICK_SECONDS},
}
