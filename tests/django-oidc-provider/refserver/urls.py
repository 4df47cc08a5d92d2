"""URLs: startproject's admin, Django's authentication views (the login page) and
django-oidc-provider's endpoints under /openid/, as its installation page shows."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("openid/", include("oidc_provider.urls", namespace="oidc_provider")),
]
