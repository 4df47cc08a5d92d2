"""Settings of the django-oidc-provider reference server (tests/django-oidc-provider/server.py).

This is the file `django-admin startproject` writes (Django 5.2), with the settings that
django-oidc-provider's installation page asks for, and only these other changes (README.md
says why for each):

- SECRET_KEY, the database file and nothing else come from the environment server.py sets;
- DEBUG = False and ALLOWED_HOSTS = ["127.0.0.1"]: a server judged as deployed, not Django's
  debug pages;
- TEMPLATES DIRS: the project's templates/ folder, for registration/login.html (Django ships
  no login template);
- SQLite's transaction_mode IMMEDIATE, so that concurrent requests wait for each other.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ["DJOP_SECRET_KEY"]

DEBUG = False

ALLOWED_HOSTS = ["127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    # django-oidc-provider's installation page.
    "oidc_provider",
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

ROOT_URLCONF = "refserver.urls"

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

WSGI_APPLICATION = "refserver.wsgi.application"

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ["DJOP_DATABASE"],
        # Django 5.1+: start every transaction with BEGIN IMMEDIATE. With SQLite's default
        # (DEFERRED), two token requests at once each take a read lock in TokenView's
        # transaction.atomic() and then both want to write: SQLite refuses one at once with
        # "database is locked" (HTTP 500) instead of waiting. Django's SQLite notes recommend
        # this mode for that error; a deployment on PostgreSQL would not need it.
        # A writer waits up to 30 s for the lock (Python's default is 5 s, short on a loaded CI machine).
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

# django-oidc-provider's installation page: "Add this required variable to your project's
# django settings". Django's own default is the same URL.
LOGIN_URL = "/accounts/login/"
