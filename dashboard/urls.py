from django.urls import path, re_path

from dashboard import views

urlpatterns = [
    path("", views.overview, name="overview"),
    re_path(
        r"^chain/(?P<exchange>[A-Za-z0-9_]+)/(?P<base>[A-Za-z0-9_]+)/"
        r"(?P<expiry>\d{4}-\d{2}-\d{2})/$",
        views.chain_page,
        name="chain",
    ),
    re_path(
        r"^term/(?P<exchange>[A-Za-z0-9_]+)/(?P<base>[A-Za-z0-9_]+)/$",
        views.term_page,
        name="term",
    ),
]
