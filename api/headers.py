"""The Content-Security-Policy header (django-csp, CONTENT_SECURITY_POLICY in the
settings) on every response, with one exception for the API's own HTML pages.

DRF's browsable API templates carry inline style attributes (`style="float: right"`)
and Swagger UI's page an inline <style> block: under /api/ an HTML page may also use
inline styles. Scripts stay same-origin everywhere, and the dashboard and the admin
get the policy as it is.
"""

from csp.middleware import CSPMiddleware, PolicyParts

API_PREFIX = "/api/"
API_PAGES = {"style-src": ["'self'", "'unsafe-inline'"]}


class ContentSecurityPolicy(CSPMiddleware):
    def get_policy_parts(self, request, response, report_only=False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if request.path_info.startswith(API_PREFIX) and _is_html(response):
            parts.replace = {**API_PAGES, **(parts.replace or {})}
        return parts


def _is_html(response) -> bool:
    return response.get("Content-Type", "").startswith("text/html")
