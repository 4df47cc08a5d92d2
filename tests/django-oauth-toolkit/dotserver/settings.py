"""Settings of the django-oauth-toolkit reference server (tests/django-oauth-toolkit/README.md).

The base is what `django-admin startproject` writes with Django 5.2; every change from it, and
every OAUTH2_PROVIDER setting that differs from django-oauth-toolkit's default, is listed with its
reason in README.md. server.py sets the DOT_* environment variables (fresh for every start) before
Django reads this file.
"""

import json
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ["DOT_SECRET_KEY"]

# startproject writes DEBUG = True; a reference server should answer like a deployment does
# (no debug pages), and DEBUG = False needs ALLOWED_HOSTS. server.py binds 127.0.0.1 only.
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]

INSTALLED_APPS = [
    # django.contrib.admin, which startproject adds, is left out: nothing here uses it.
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "oauth2_provider",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "dotserver.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # registration/login.html (Django ships no login template) and the base.html it extends.
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

WSGI_APPLICATION = "dotserver.wsgi.application"

# SQLite in the temporary directory server.py creates (and removes) for each start. The scanner
# runs four flows at once: with SQLite's default DEFERRED transactions, two threads that both
# upgrade a read to a write fail at once with "database is locked" (HTTP 500 from /o/token/).
# Django's SQLite notes recommend transaction_mode IMMEDIATE (Django 5.1+) for this, and a
# longer timeout than the default 5 s, since DOT hashes client secrets with PBKDF2 on this
# shared 2-core machine.
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["DOT_DB_PATH"],
        "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 30},
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# LOGIN_URL is Django's default, "/accounts/login/", served by django.contrib.auth.urls.

# django-oauth-toolkit: docs/oidc.rst "Configuration" (OIDC with an RS256 key, and the openid
# scope next to the scopes in use). Everything else is DOT's default.
OAUTH2_PROVIDER = {
    "OIDC_ENABLED": True,
    "OIDC_RSA_PRIVATE_KEY": os.environ["DOT_OIDC_RSA_PRIVATE_KEY"],
    "SCOPES": {
        "read": "Reading scope",
        "write": "Writing scope",
        "openid": "OpenID Connect scope",
    },
}
# For experiments only (the integration test never sets it): more OAUTH2_PROVIDER settings as a
# JSON object, e.g. DOT_OAUTH2_PROVIDER_JSON='{"REFRESH_TOKEN_REUSE_PROTECTION": true}'.
OAUTH2_PROVIDER.update(json.loads(os.environ.get("DOT_OAUTH2_PROVIDER_JSON") or "{}"))

# Not in startproject: with DEBUG = False Django logs server errors only to mail_admins; send
# them (with their tracebacks) to stderr, next to the request log, so a test can show them.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"stderr": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["stderr"], "level": "ERROR", "propagate": False},
        "oauth2_provider": {"handlers": ["stderr"], "level": "WARNING", "propagate": False},
    },
}
