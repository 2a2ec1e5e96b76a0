"""gunicorn's access log as one JSON object per request (values escaped properly).

gunicorn's own access_log_format pastes raw strings into its template, so a user agent
or path with a quote in it would break a JSON line; this builds the line with json.
"""

import json
import traceback
from datetime import UTC, datetime
from urllib.parse import unquote_plus

from gunicorn.glogging import Logger

# Query parameters that authenticate (the DSN key is public by design, but a log is
# no place to collect them, and older SDKs also send a secret).
SECRET_PARAMETERS = frozenset({"sentry_key", "sentry_secret"})
REDACTED = "[redacted]"


def redact_query(query: str) -> str:
    """The query string with the values of SECRET_PARAMETERS replaced, however the name
    is spelled on the wire (Django decodes `sentry%5Fkey` to `sentry_key` too)."""
    if not query:
        return query
    pairs = query.split("&")
    for index, pair in enumerate(pairs):
        name, separator, _value = pair.partition("=")
        if unquote_plus(name).strip().lower() in SECRET_PARAMETERS:
            pairs[index] = f"{name}{separator or '='}{REDACTED}"
    return "&".join(pairs)


class JsonAccessLogger(Logger):
    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        status = resp.status.split(None, 1)[0] if isinstance(resp.status, str) else resp.status
        try:
            entry = {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "level": "info",
                "logger": "access",
                "remote": environ.get("REMOTE_ADDR", "-"),
                "method": environ.get("REQUEST_METHOD"),
                "path": environ.get("PATH_INFO"),
                "query": redact_query(environ.get("QUERY_STRING", "")),
                "status": int(status),
                "bytes": getattr(resp, "sent", None),
                "duration_ms": round(request_time.total_seconds() * 1000, 1),
                "user_agent": environ.get("HTTP_USER_AGENT", ""),
            }
            self.access_log.info(json.dumps(entry, ensure_ascii=False))
        except Exception:
            self.error(traceback.format_exc())
