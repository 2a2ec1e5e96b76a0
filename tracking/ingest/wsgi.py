"""A WSGI entry point that sends /api/ straight to the ingestion views.

The ingestion views need none of the site's middleware: no session, CSRF, user,
messages, htmx or CSP (their answers are JSON for SDKs, not pages). Running Django's
middleware stack anyway costs about as much CPU as the ingestion itself, on the path
that carries by far the most requests. `with_ingest_fast_path` wraps the site's WSGI
application so /api/ requests skip it; everything else goes through unchanged.

Use it from the project's wsgi module:

    application = with_ingest_fast_path(get_wsgi_application())
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponse

INGEST_PREFIX = "/api/"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class IngestHandler(WSGIHandler):
    """Django's own request handling (URL resolution, signals, error responses, DB
    connection lifecycle) with an empty middleware chain."""

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware = []
        self._template_response_middleware = []
        self._exception_middleware = []

        def checked_host(request: HttpRequest) -> HttpResponse:
            # What CommonMiddleware would check: the Host header is one we serve
            # (DisallowedHost becomes a 400 inside the chain).
            request.get_host()
            return self._get_response(request)

        self._middleware_chain = convert_exception_to_response(checked_host)


def with_ingest_fast_path(site: WSGIApp) -> WSGIApp:
    ingest = IngestHandler()

    def application(environ: dict[str, Any], start_response: Callable[..., Any]):
        if environ.get("PATH_INFO", "").startswith(INGEST_PREFIX):
            return ingest(environ, start_response)
        return site(environ, start_response)

    return application
