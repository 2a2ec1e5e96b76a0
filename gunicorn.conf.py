"""gunicorn settings for production (`make serve` / scripts/serve).

scripts/serve runs two gunicorn processes from this file behind one proxy
(haproxy/haproxy.cfg): GUNICORN_POOL=pages serves everything but /api/, and
GUNICORN_POOL=ingest serves /api/ at a lower CPU priority. Each listens on a Unix
socket only the proxy connects to, and reads the client's address from the proxy's
PROXY protocol header. Without GUNICORN_POOL it is one server for everything on BIND
(what the benchmarks and a plain `gunicorn` run use).

Threads share each worker's persistent database connections (one per thread);
every value can be overridden from the environment.
"""

import contextlib
import os
import sys

CPUS = os.cpu_count() or 1
pool = os.environ.get("GUNICORN_POOL", "")
if pool not in ("", "pages", "ingest"):
    raise SystemExit(f"GUNICORN_POOL must be pages or ingest, not {pool!r}")

worker_class = "gthread"
if pool == "ingest":
    bind = f"unix:{os.environ['INGEST_SOCKET']}"
    # Few slots on purpose: each running ingest request keeps a PostgreSQL backend
    # busy, and those run at the pages' priority (only this pool can be niced). With
    # two per core, the pages' queries compete with a handful of them during a flood;
    # past the slots the proxy queues a few and refuses the rest with 429
    # (haproxy/haproxy.cfg, docs/benchmarks.md: "Ingest pool size").
    workers = int(os.environ.get("INGEST_WORKERS", str(CPUS)))
    threads = int(os.environ.get("INGEST_THREADS", "2"))
    # Lower CPU priority for the whole pool (master and the workers it forks): on a
    # shared machine the pages' workers get the CPU first. Absolute, so a reload (HUP)
    # that reads this file again does not lower it further.
    # (OSError: already lower, and only root may raise it again.)
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, 0, int(os.environ.get("INGEST_NICE", "10")))
elif pool == "pages":
    bind = f"unix:{os.environ['PAGES_SOCKET']}"
    workers = int(os.environ.get("WEB_CONCURRENCY", str(CPUS)))
    threads = int(os.environ.get("GUNICORN_THREADS", "4"))
else:
    bind = os.environ.get("BIND", "0.0.0.0:8000")
    workers = int(os.environ.get("WEB_CONCURRENCY", str(CPUS + 1)))
    threads = int(os.environ.get("GUNICORN_THREADS", "4"))
if pool:
    proc_name = f"errortracker-{pool}"
    # The proxy's PROXY header names the client; only the proxy can reach a Unix socket
    # (gunicorn trusts the header from Unix sockets; the socket's directory is private).
    proxy_protocol = "v2"
    # Each pool its own control socket (gunicornc) beside its listening one; the default
    # path is one per user, which the two pools would fight over.
    control_socket = os.path.join(os.path.dirname(bind.removeprefix("unix:")), f"{pool}.ctl")
# The GIL switch interval (ms). A thread back from PostgreSQL waits for the GIL until a
# busy sibling is made to let go, at most this long. bench/ingest.py measured 1 ms as
# worse than Python's 5 ms on two cores (more forced switches: +0.4 CPU-ms per event,
# no better p95) and 20 ms as no different, so the default stays 5. Set before the
# workers fork, so every worker inherits it.
sys.setswitchinterval(float(os.environ.get("GIL_SWITCH_INTERVAL_MS", "5")) / 1000)
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
# Behind the proxy, the proxy closes idle connections first (haproxy.cfg keeps them
# 10 s): a pool closing one just as the proxy reuses it would cost the client a 502.
keepalive = 75 if pool else 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = 100
wsgi_app = "errortracker.wsgi:application"
accesslog = "-" if os.environ.get("ACCESS_LOG", "1") == "1" else None
errorlog = "-"
# One JSON object per request on stdout (errortracker/gunicorn_logging.py).
logger_class = "errortracker.gunicorn_logging.JsonAccessLogger"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
