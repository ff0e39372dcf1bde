"""What every API view enforces before its own parsing: a `format` it has, and only
the query parameters its schema lists, each once and not empty (params.check_query).

The async handlers of the hot reads (api.live_views) call params.check_query
themselves with their view's names.
"""

from rest_framework.negotiation import DefaultContentNegotiation

from api.access import handles
from api.errors import bad_parameter
from api.params import FORMAT, check_query


class FormatNegotiation(DefaultContentNegotiation):
    """An unknown `?format=` is a 400 naming it (DRF's own answer is a bare 404)."""

    def filter_renderers(self, renderers, format):
        kept = [renderer for renderer in renderers if renderer.format == format]
        if not kept:
            known = ", ".join(renderer.format for renderer in renderers)
            raise bad_parameter(FORMAT, f"{format!r} is not one of {known}")
        return kept


class KnownQuery:
    """DRF view mixin. `query` lists the view's OpenApiParameters in the query string,
    the same list its extend_schema declares."""

    query: tuple = ()
    content_negotiation_class = FormatNegotiation

    def query_names(self) -> set[str]:
        return {parameter.name for parameter in self.query}

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if handles(self, request.method):  # else the 405 comes first
            check_query(request.query_params, self.query_names())
