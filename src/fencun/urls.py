from django.contrib import admin
from django.urls import include, path

from fencun.api.views import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("", include("fencun.gateway.urls")),
    path("", include("fencun.insights.urls")),
    path("", include("fencun.console.urls")),
]
