"""ASGI entry point: HTTP through Django, WebSockets through Channels (daphne)."""

import os

from django.core.asgi import get_asgi_application

from tracker_project.lean import skip_unused_imports

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tracker_project.settings")
skip_unused_imports()  # before the apps' ready() import them

# Django is set up before anything imports models or consumers.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from api.asgi import FastReads  # noqa: E402
from api.limits import install_server_limits  # noqa: E402
from dashboard.guards import SiteOriginValidator  # noqa: E402
from dashboard.routing import websocket_urlpatterns  # noqa: E402
from health.metrics import CountRequests  # noqa: E402

install_server_limits()  # daphne: oversized requests get an answer

application = ProtocolTypeRouter(
    {
        # The API's hot reads skip Django's middleware (see api/asgi.py).
        # Every response counted for /metrics (health/metrics.py).
        "http": CountRequests(FastReads(django_asgi_app)),
        # The session (and so the user) for DASHBOARD_LOGIN_REQUIRED; the origin
        # check keeps other sites' pages from opening sockets with our cookies.
        "websocket": SiteOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
