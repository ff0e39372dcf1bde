from django.urls import path, re_path

from dashboard import history_views, views

CHAIN = (
    r"^chain/(?P<exchange>[A-Za-z0-9_]+)/(?P<base>[A-Za-z0-9_]+)/"
    r"(?P<expiry>\d{4}-\d{2}-\d{2})/"
)
CONTRACT = r"^contract/(?P<exchange>[A-Za-z0-9_]+)/(?P<symbol>[A-Za-z0-9.\-]+)/"

urlpatterns = [
    path("", views.overview, name="overview"),
    re_path(CHAIN + "$", views.chain_page, name="chain"),
    re_path(CHAIN + r"meta\.json$", history_views.chain_meta, name="chain-meta"),
    re_path(CHAIN + r"at\.json$", history_views.chain_at, name="chain-at"),
    re_path(CONTRACT + "$", history_views.contract_page, name="contract"),
    re_path(
        CONTRACT + r"history\.json$",
        history_views.contract_history,
        name="contract-history",
    ),
    re_path(
        r"^term/(?P<exchange>[A-Za-z0-9_]+)/(?P<base>[A-Za-z0-9_]+)/$",
        views.term_page,
        name="term",
    ),
]
