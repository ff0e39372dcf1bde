"""Requests too big for the parsers answer in the API's error shape (api.errors).

- More query parameters than DATA_UPLOAD_MAX_NUMBER_FIELDS (1,000): Django raises
  TooManyFieldsSent on the first read of request.GET, which its handler turns into
  a bare 400 page with the traceback in the log (and the ASGI shortcut, api.asgi,
  into a 500). `QueryLimitMiddleware` answers a JSON 400 first.
- A request line longer than 16 KB: daphne's HTTP server (twisted's HTTPChannel, a
  LineReceiver with MAX_LENGTH 16,384) drops the connection without a word, and
  answers a bare "400 Bad Request" with no body when the request line and headers
  together pass 16 KB. `install_server_limits` makes both a JSON answer: 414 for the
  request line, 431 for a header line, 400 otherwise.
"""

import logging

import orjson
from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.core.exceptions import TooManyFieldsSent
from django.utils.decorators import sync_and_async_middleware

from api.errors import ApiError, body, error_response

log = logging.getLogger(__name__)
LINGER_S = 5.0  # how long a refused connection may go on sending before it is cut


def too_many_fields(request) -> ApiError | None:
    """The API's 400 when the query string has too many parameters, else None."""
    try:
        request.GET  # noqa: B018 (parsing it is the check)
    except TooManyFieldsSent:
        limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
        message = f"more than {limit} query parameters"
        return ApiError(400, "too_many_parameters", message)
    return None


def _refused(request):
    """QueryLimitMiddleware's answer, or None to go on."""
    error = too_many_fields(request)
    if error is None:
        return None
    log.warning("%s: %s", request.path, error.message)
    return error_response(error)


@sync_and_async_middleware
def QueryLimitMiddleware(get_response):  # noqa: N802 (named as a middleware class)
    """Answers a JSON 400 before anything reads request.GET."""
    if iscoroutinefunction(get_response):

        async def middleware(request):
            refused = _refused(request)
            return refused if refused is not None else await get_response(request)

    else:

        def middleware(request):
            refused = _refused(request)
            return refused if refused is not None else get_response(request)

    return middleware


# daphne's HTTP server ------------------------------------------------------------


def install_server_limits() -> None:
    """Teach twisted's HTTPChannel (daphne's HTTP/1.1 protocol) to answer oversized
    requests. Called by tracker_project.asgi, which daphne imports before it listens;
    a no-op where twisted is not loaded (another ASGI server, the tests' clients)."""
    import sys

    http = sys.modules.get("twisted.web.http")
    if http is None:
        return
    http.HTTPChannel.lineLengthExceeded = _line_too_long
    http.HTTPChannel._respondToBadRequestAndDisconnect = _bad_request


def _line_too_long(channel, line) -> None:
    first = getattr(channel, "_HTTPChannel__first_line", 1)
    limit = channel.MAX_LENGTH
    if first:
        status, code = b"414 URI Too Long", "too_long"
        message = f"the request line is longer than {limit} bytes; shorten the query"
    else:
        status, code = b"431 Request Header Fields Too Large", "too_long"
        message = f"a request header is longer than {limit} bytes"
    _refuse(channel, status, code, message)


def _bad_request(channel) -> None:
    message = (
        "malformed request, or the request line and headers pass "
        f"{channel.totalHeadersSize} bytes"
    )
    _refuse(channel, b"400 Bad Request", "bad_request", message)


def _refuse(channel, status: bytes, code: str, message: str) -> None:
    """Write the answer, then stop reading: the client gets the whole answer before
    the connection closes (a close with unread input would reset it)."""
    payload = orjson.dumps(body(code, message))
    head = (
        b"HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % (status, len(payload))
    )
    transport = channel.transport
    peer = transport.getPeer()
    log.warning("%s: refused: %s", getattr(peer, "host", peer), message)
    channel.dataReceived = _discard
    transport.write(head + payload)
    half_close = getattr(transport, "loseWriteConnection", transport.loseConnection)
    half_close()
    from twisted.internet import reactor

    cut = reactor.callLater(LINGER_S, transport.abortConnection)
    channel.connectionLost = _cancelling(cut, channel.connectionLost)


def _discard(data: bytes) -> None:
    """The rest of a refused request."""


def _cancelling(call, connection_lost):
    def lost(reason):
        if call.active():
            call.cancel()
        return connection_lost(reason)

    return lost
