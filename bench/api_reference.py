"""The benchmark's reference server: Django with no app and no middleware, one async
view answering fixed bytes (captured from the real endpoint by bench/api_bench.py).

    API_REFERENCE_BODY=/tmp/chain.json DJANGO_SETTINGS_MODULE=bench.api_reference \
        daphne -b 127.0.0.1 -p 8001 bench.api_reference:application

It is its own settings module, URLconf and ASGI application.
"""

import os

from django.core.asgi import get_asgi_application
from django.http import HttpResponse
from django.urls import re_path

SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.api_reference"
USE_TZ = True

_BODY_PATH = os.environ.get("API_REFERENCE_BODY", "")
BODY = open(_BODY_PATH, "rb").read() if _BODY_PATH else b"{}"  # noqa: SIM115


async def fixed(request, path=""):
    return HttpResponse(BODY, content_type="application/json")


urlpatterns = [re_path(r"^(?P<path>.*)$", fixed)]

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.api_reference")
application = get_asgi_application()
