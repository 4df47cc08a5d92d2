"""URLs as django-oauth-toolkit's tutorial (part 1) and Django's authentication docs show them."""

from django.urls import include, path
from oauth2_provider import urls as oauth2_urls

urlpatterns = [
    path("o/", include(oauth2_urls)),
    # login/, logout/, password_change/, password_reset/, ...; LOGIN_URL is /accounts/login/.
    path("accounts/", include("django.contrib.auth.urls")),
]
