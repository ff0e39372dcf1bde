from channels.generic.websocket import AsyncWebsocketConsumer
from django.urls import re_path

from dashboard.consumers import ChainConsumer


class NoRoute(AsyncWebsocketConsumer):
    """Any other path: the handshake is refused (403), where Channels' router would
    raise "No route found" and daphne log a traceback."""

    async def connect(self):
        await self.close()  # before accepting: daphne answers 403


websocket_urlpatterns = [
    re_path(
        r"^ws/chain/(?P<exchange>[^/]+)/(?P<base>[^/]+)/(?P<expiry>[^/]+)/$",
        ChainConsumer.as_asgi(),
    ),
    re_path(r"", NoRoute.as_asgi()),
]
