from django.contrib import admin
from django.urls import include, path

from tracking.health import health

urlpatterns = [
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    path("api/", include("tracking.ingest.urls")),
    path("", include("tracking.urls")),
]
