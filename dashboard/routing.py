from django.urls import re_path

from dashboard.consumers import ChainConsumer

websocket_urlpatterns = [
    re_path(
        r"^ws/chain/(?P<exchange>[^/]+)/(?P<base>[^/]+)/(?P<expiry>[^/]+)/$",
        ChainConsumer.as_asgi(),
    ),
]
