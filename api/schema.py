"""The schema class: drf-spectacular's AutoSchema told about api.access.ApiAccess.

Its own module: importing drf_spectacular.openapi imports rest_framework.views, which
loads the permission classes named in REST_FRAMEWORK (api.access).
"""

from django.conf import settings
from drf_spectacular.openapi import AutoSchema
from rest_framework import permissions


class ApiAutoSchema(AutoSchema):
    """Safe methods need no credentials unless API_TOKEN_REQUIRED or the view says
    `anonymous_reads = False` (spectacular only recognises DRF's own AllowAny and
    IsAuthenticatedOrReadOnly)."""

    def get_auth(self):
        auths = super().get_auth()
        anonymous = not settings.API_TOKEN_REQUIRED
        anonymous = anonymous and getattr(self.view, "anonymous_reads", True)
        if anonymous and self.method in permissions.SAFE_METHODS and {} not in auths:
            auths.append({})
        return auths
