from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from api import alerts, analytics, views
from api.errors import not_found_view
from api.fast import fast_get
from api.history import HistoryView, history_handler
from api.live_views import (
    ChainView,
    ExpiriesView,
    FeedView,
    StrikesView,
    TickView,
    chain_handler,
    expiries_handler,
    feed_handler,
    strikes_handler,
    tick_handler,
)

router = SimpleRouter()
router.register("underlyings", views.UnderlyingViewSet, basename="underlying")
router.register("contracts", views.ContractViewSet, basename="contract")
router.register("alert-rules", alerts.AlertRuleViewSet, basename="alertrule")
router.register("alert-events", alerts.AlertEventViewSet, basename="alertevent")

urlpatterns = [
    path("", views.ApiRoot.as_view(), name="api-root"),
    *router.urls,
    path("feed/", fast_get(FeedView, feed_handler, shortcut=False), name="feed"),
    path(
        "expiries/<str:exchange>/<str:base>/",
        fast_get(ExpiriesView, expiries_handler),
        name="expiries",
    ),
    path(
        "strikes/<str:exchange>/<str:base>/",
        fast_get(StrikesView, strikes_handler),
        name="strikes",
    ),
    path(
        "chain/<str:exchange>/<str:base>/<str:expiry>/",
        fast_get(ChainView, chain_handler, formats=("json", "csv")),
        name="chain",
    ),
    path(
        "ticks/<str:exchange>/<str:symbol>/",
        fast_get(TickView, tick_handler),
        name="ticks",
    ),
    path(
        "history/<str:exchange>/<str:symbol>/",
        fast_get(HistoryView, history_handler, shortcut=False),
        name="history",
    ),
    path(
        "analytics/<str:exchange>/<str:base>/",
        fast_get(analytics.AnalyticsView, analytics.analytics_handler),
        name="analytics",
    ),
    path(
        "analytics/<str:exchange>/<str:base>/history/",
        fast_get(
            analytics.AnalyticsHistoryView, analytics.history_handler, shortcut=False
        ),
        name="analytics-history",
    ),
    path(
        "analytics/<str:exchange>/<str:base>/<str:expiry>/",
        fast_get(analytics.ExpiryAnalyticsView, analytics.expiry_handler),
        name="analytics-expiry",
    ),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's set-up script as a file (?script): the
    # Content-Security-Policy allows no inline script.
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    re_path(r"^.*$", not_found_view),
]
