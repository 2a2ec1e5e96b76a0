import json
import logging
from datetime import timedelta

from gunicorn.config import Config

from errortracker.gunicorn_logging import JsonAccessLogger
from errortracker.logging import JsonFormatter


def test_json_formatter_writes_one_valid_object_per_record():
    record = logging.makeLogRecord(
        {"name": "tracking.ingest", "levelname": "WARNING", "msg": 'quote " and %s', "args": ("x",)}
    )
    record.project_id = 7
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["message"] == 'quote " and x'
    assert entry["level"] == "warning"
    assert entry["logger"] == "tracking.ingest"
    assert entry["project_id"] == 7
    assert "\n" not in line


class _Response:
    status = "200 OK"
    sent = 2


def _access_line(environ: dict) -> dict:
    """One request through the access logger gunicorn.conf.py configures."""
    config = Config()
    config.set("accesslog", "-")
    logger = JsonAccessLogger(config)
    lines: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger.access_log.addHandler(Capture())
    logger.access(_Response(), None, environ, timedelta(milliseconds=3))
    [line] = lines
    return json.loads(line)


def test_access_log_redacts_the_dsn_key_however_it_is_spelled():
    key = "0123456789abcdef0123456789abcdef"
    for query in [
        f"sentry_key={key}&sentry_version=7",
        f"sentry_version=7&sentry_key={key}&sentry_client=sentry.javascript.browser%2F8",
        f"sentry%5Fkey={key}",
        f"sentry_secret={key}&sentry_key={key}",
        f"SENTRY_KEY={key}",
    ]:
        entry = _access_line(
            {"REQUEST_METHOD": "POST", "PATH_INFO": "/api/1/envelope/", "QUERY_STRING": query}
        )
        assert key not in json.dumps(entry), query
        assert "[redacted]" in entry["query"]
    entry = _access_line({"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": "sort=count"})
    assert entry["query"] == "sort=count"
    # The auth header is never logged at all.
    entry = _access_line(
        {
            "REQUEST_METHOD": "POST",
            "PATH_INFO": "/api/1/envelope/",
            "HTTP_X_SENTRY_AUTH": f"Sentry sentry_key={key}",
        }
    )
    assert key not in json.dumps(entry)
