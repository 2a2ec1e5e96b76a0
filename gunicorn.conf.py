"""gunicorn settings for production (`make serve` / scripts/serve).

Threads share each worker's persistent database connections (one per thread);
every value can be overridden from the environment.
"""

import os
import sys

bind = os.environ.get("BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", str((os.cpu_count() or 1) + 1)))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# The GIL switch interval (ms). A thread back from PostgreSQL waits for the GIL until a
# busy sibling is made to let go, at most this long. bench/ingest.py measured 1 ms as
# worse than Python's 5 ms on two cores (more forced switches: +0.4 CPU-ms per event,
# no better p95) and 20 ms as no different, so the default stays 5. Set before the
# workers fork, so every worker inherits it.
sys.setswitchinterval(float(os.environ.get("GIL_SWITCH_INTERVAL_MS", "5")) / 1000)
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = 100
wsgi_app = "errortracker.wsgi:application"
accesslog = "-" if os.environ.get("ACCESS_LOG", "1") == "1" else None
errorlog = "-"
# One JSON object per request on stdout (errortracker/gunicorn_logging.py).
logger_class = "errortracker.gunicorn_logging.JsonAccessLogger"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
