from django.apps import apps
from django.urls import include, path

from health import metrics as health_metrics
from health import views as health

urlpatterns = [
    path("healthz", health.healthz),  # docs/alerts.md
    path("readyz", health.readyz),
    path("metrics", health_metrics.metrics),
]

# The feed process (TRACKER_FEED_ONLY) runs without the admin and the web apps.
if apps.is_installed("django.contrib.admin"):
    from django.contrib import admin

    urlpatterns += [
        path("admin/", admin.site.urls),
        path("api/", include("api.urls")),
        path("", include("dashboard.urls")),
    ]
