"""Django settings: everything from the environment, working defaults for everything.

With nothing set, fencun runs on SQLite in the data directory with an embedded task
queue. ``DATABASE_URL`` switches to PostgreSQL, ``FENCUN_QUEUE_URL`` to Redis workers.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url

from fencun.datadir import data_dir, private_file, secret_key


def _flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").lower() in {"1", "true", "yes", "on"}


DATA_DIR = data_dir()
SECRET_KEY = secret_key()
# Earlier keys, comma-separated: sessions they signed and secrets they sealed (see
# fencun.sealing) still open until `fencun secrets rotate` re-seals under SECRET_KEY.
SECRET_KEY_FALLBACKS = [k for k in os.environ.get("FENCUN_SECRET_KEY_FALLBACKS", "").split(",") if k]
DEBUG = _flag("FENCUN_DEBUG")
# Production unless told otherwise: secure cookies, HSTS etc. follow FENCUN_HTTPS.
HTTPS = _flag("FENCUN_HTTPS")
ALLOWED_HOSTS = [h for h in os.environ.get("FENCUN_ALLOWED_HOSTS", "*").split(",") if h]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "fencun.accounts",
    "fencun.channels",
    "fencun.audience",
    "fencun.operations",
    "fencun.gateway",
    "fencun.catalog",
    "fencun.campaigns",
    "fencun.insights",
    "fencun.console",
    "fencun.api",
    "axes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "fencun.accounts.audit.ActorMiddleware",
    "fencun.console.access.RolesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that it answers a locked-out login with the lockout page (django-axes).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "fencun.urls"
WSGI_APPLICATION = "fencun.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "fencun.console.views.accounts_context",
            ],
        },
    }
]

_sqlite_path = DATA_DIR / "fencun.sqlite3"
DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{_sqlite_path}",
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # WAL lets the gateway write while the console reads; IMMEDIATE avoids the
    # deadlock-prone read-then-upgrade of deferred transactions under concurrency.
    # synchronous=FULL syncs every commit: a callback acknowledged to WeChat survives a
    # power loss too (NORMAL would lose the last commits; ~15 % fewer callbacks/s).
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=20000;"
        ),
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test.sqlite3")}
    if Path(DATABASES["default"]["NAME"]).parent == DATA_DIR:
        # Created owner-only before SQLite creates it world-readable (umask).
        private_file(Path(DATABASES["default"]["NAME"]))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True
LOCALE_PATHS = [os.path.join(os.path.dirname(__file__), "locale")]

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"

# Guessing passwords: after FENCUN_LOGIN_FAILURE_LIMIT failed logins for one username from
# one address, that pair is locked out for FENCUN_LOGIN_LOCKOUT_MINUTES (django-axes; the
# attempts are counted in the database, so every server process sees them).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = int(os.environ.get("FENCUN_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=float(os.environ.get("FENCUN_LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "fencun.console.access.locked_out"
# A console session ends after this long without a request (each request renews it).
SESSION_COOKIE_AGE = int(float(os.environ.get("FENCUN_SESSION_IDLE_MINUTES", "120")) * 60)
SESSION_SAVE_EVERY_REQUEST = True

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# The WeChat account configured by environment (the console can add more).
WECHAT = {
    "APP_ID": os.environ.get("WECHAT_APP_ID", ""),
    "APP_SECRET": os.environ.get("WECHAT_APP_SECRET", ""),
    "TOKEN": os.environ.get("WECHAT_TOKEN", ""),
    "AES_KEY": os.environ.get("WECHAT_AES_KEY", ""),
    "ACCOUNT_TYPE": os.environ.get("WECHAT_ACCOUNT_TYPE", "subscription"),
    "API_BASE": os.environ.get("WECHAT_API_BASE", "https://api.weixin.qq.com"),
}

# The WeCom corp configured by environment (customer contact; see channels/wecom/).
WECOM = {
    "CORP_ID": os.environ.get("WECOM_CORP_ID", ""),
    "SECRET": os.environ.get("WECOM_SECRET", ""),
    "TOKEN": os.environ.get("WECOM_TOKEN", ""),
    "AES_KEY": os.environ.get("WECOM_AES_KEY", ""),
    "API_BASE": os.environ.get("WECOM_API_BASE", "https://qyapi.weixin.qq.com"),
}

# Where the product is reachable from the internet, e.g. https://shop.example.com: links
# in pushes and posts become tracked links under it (/r/<token>); unset, links go as written.
PUBLIC_URL = os.environ.get("FENCUN_PUBLIC_URL", "")

# The Weibo account the broadcast channel posts as (see channels/broadcast/). Its posts'
# tracked links are under PUBLIC_URL, whose host must be the app's safe domain.
WEIBO = {
    "ACCESS_TOKEN": os.environ.get("WEIBO_ACCESS_TOKEN", ""),
    "API_BASE": os.environ.get("WEIBO_API_BASE", "https://api.weibo.com"),
    "SAFE_DOMAIN": os.environ.get("WEIBO_SAFE_DOMAIN", ""),
    "PUBLIC_URL": PUBLIC_URL,
}

QUEUE_URL = os.environ.get("FENCUN_QUEUE_URL", "")
# What the queue's and the access_token's Redis keys are named after: deployments (or test
# runs) sharing one Redis database keep apart by giving each its own name.
QUEUE_NAME = os.environ.get("FENCUN_QUEUE_NAME") or "fencun"

# WeChat posts at most a few KB; anything near this is hostile.
CALLBACK_MAX_BYTES = 64 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "fencun.logredact.RedactSecrets"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["redact"]},
    },
    "root": {"handlers": ["console"], "level": os.environ.get("FENCUN_LOG_LEVEL", "WARNING")},
}

# The task queue only wakes workers; the database outbox is the truth (DESIGN.md).
if QUEUE_URL:
    HUEY = {
        # Keys that can expire: the periodic tasks' locks do (fencun.tasklocks).
        "huey_class": "huey.RedisExpireHuey",
        "name": QUEUE_NAME,
        "url": QUEUE_URL,
        "immediate": False,
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": QUEUE_NAME,
        "filename": str(DATA_DIR / "queue.sqlite3"),
        "immediate": False,
    }
    private_file(DATA_DIR / "queue.sqlite3")
INSTALLED_APPS.append("huey.contrib.djhuey")
