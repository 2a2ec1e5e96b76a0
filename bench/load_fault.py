"""Load-and-fault test: ingestion load from the real sentry-sdk while simulated leads and
engineers act through HTTP, with one server restart in the middle. Not part of the test
suite (it takes minutes and owns the machine); see docs/benchmarks.md.

    .venv/bin/python bench/load_fault.py [--events 3000] [--senders 4] [--actors 4]
                                         [--database-url postgres://postgres@127.0.0.1:5432/postgres]

1. Creates a throwaway database, migrates it, loads the demo data (users, resolution
   types, projects) and starts the production server (gunicorn, DEBUG=0).
2. Sender threads POST envelopes made by the real sentry-sdk (bench/ingest.py's
   generator). A send that gets no answer (connection refused or cut by the restart) is
   retried, like the SDK does, so a retry of an event that was in fact stored must not
   store it twice. Every answer is recorded with its event id.
3. Actor threads sign in as the demo lead and engineers and post workflow actions
   (take, escalate, resolve, ignore, unignore, reopen) as plain form posts: a 302 is an
   action done, a 200/403 a refusal shown to the user.
4. Half-way through, the server is stopped (SIGTERM, graceful; with --hard, SIGKILL of
   every server process, cutting requests in flight) and started again.
5. Checks: every event answered 200 is stored exactly once; nothing else is stored;
   error counters equal the stored occurrences; every action answered 302 has its
   activity row (per actor and verb); no response was a 5xx. Prints the counts and exits
   non-zero when a check fails.
"""

import argparse
import http.client
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import brotli
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import generate_events  # noqa: E402  (after the path is set)
from bench.server import Gunicorn, free_port  # noqa: E402

PYTHON = sys.executable
ACTORS = [
    ("lead", "demo-lead-pass"),
    ("engineer", "demo-engineer-pass"),
    ("engineer2", "demo-engineer2-pass"),
]
# action -> activity verb it records
ACTIONS = {
    "take": "assigned",
    "escalate": "escalated",
    "resolve": "resolved",
    "ignore": "ignored",
    "unignore": "unignored",
    "reopen": "reopened",
}


class Results:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter = Counter()
        self.accepted_events: list[str] = []
        self.retries = 0
        self.actions_done: Counter = Counter()  # (username, verb)
        self.actions_refused = 0
        self.server_errors: list[str] = []

    def status(self, code: int, what: str) -> None:
        with self.lock:
            self.statuses[code] += 1
            if code >= 500:
                self.server_errors.append(f"{code} {what}")


def http_request(port, method, path, body=None, headers=None, timeout=30):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def sender(port, path, envelopes, results: Results, stop_at: float) -> None:
    for envelope in envelopes:
        event_id = json.loads(brotli.decompress(envelope).split(b"\n", 1)[0])["event_id"]
        while time.monotonic() < stop_at:
            try:
                status, _, _ = http_request(
                    port,
                    "POST",
                    path,
                    envelope,
                    {"Content-Type": "application/x-sentry-envelope", "Content-Encoding": "br"},
                )
            except (OSError, http.client.HTTPException):
                with results.lock:
                    results.retries += 1
                time.sleep(0.2)  # the server is restarting: retry like the SDK would
                continue
            results.status(status, f"ingest {event_id}")
            if status == 200:
                with results.lock:
                    results.accepted_events.append(uuid.UUID(event_id).hex)
            break


class Actor:
    def __init__(self, port: int, username: str, password: str) -> None:
        self.port, self.username, self.password = port, username, password
        self.cookies: dict[str, str] = {}

    def _headers(self, extra=None) -> dict[str, str]:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {"Cookie": cookie, "Host": "127.0.0.1", **(extra or {})}

    def _keep_cookies(self, headers: dict[str, str]) -> None:
        for key, value in headers.items():
            if key.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]

    def request(self, method, path, form=None):
        body = urlencode(form or {}, doseq=True) if form is not None else None
        extra = {"Content-Type": "application/x-www-form-urlencoded"} if form is not None else {}
        if method == "POST":
            extra["Referer"] = f"http://127.0.0.1:{self.port}{path}"
        status, headers, content = http_request(self.port, method, path, body, self._headers(extra))
        self._keep_cookies(headers)
        return status, headers, content

    def sign_in(self) -> None:
        self.request("GET", "/login/")
        status, _, _ = self.request(
            "POST",
            "/login/",
            {
                "username": self.username,
                "password": self.password,
                "csrfmiddlewaretoken": self.cookies.get("csrftoken", ""),
            },
        )
        if status != 302:
            raise RuntimeError(f"{self.username} could not sign in ({status})")


def actor_loop(port, username, password, error_ids, people, rtype_ids, results, stop):
    rng = random.Random(username)
    actor = Actor(port, username, password)
    while not stop.is_set():
        try:
            if "sessionid" not in actor.cookies:
                actor.sign_in()
            error_id = rng.choice(error_ids)
            action = rng.choice(list(ACTIONS))
            form = {"csrfmiddlewaretoken": actor.cookies.get("csrftoken", "")}
            if action == "escalate":
                form |= {
                    "escalated_to": rng.choice([p for u, p in people if u != username]),
                    "level": rng.choice(["low", "medium", "high", "critical"]),
                    "reason": "Load test escalation.",
                }
            if action == "resolve":
                form |= {
                    "resolution_type": rng.choice(rtype_ids),
                    "description": "Load test resolution.",
                    "steps_taken": "Reproduced and verified under load.",
                }
            status, headers, _ = actor.request("POST", f"/errors/{error_id}/{action}/", form)
        except (OSError, http.client.HTTPException):
            time.sleep(0.2)  # server restarting; the action got no answer and is not counted
            continue
        results.status(status, f"{username} {action}")
        if status == 302 and "/login/" not in headers.get("Location", ""):
            with results.lock:
                results.actions_done[(username, ACTIONS[action])] += 1
        elif status == 302:
            actor.cookies.pop("sessionid", None)  # session lost: sign in again
        else:
            with results.lock:
                results.actions_refused += 1
        time.sleep(rng.uniform(0.01, 0.05))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument(
        "--hard", action="store_true", help="kill the server (SIGKILL) instead of SIGTERM"
    )
    parser.add_argument("--actors", type=int, default=3, choices=range(1, 4))
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    database = f"load_fault_{os.getpid()}"
    url = urlsplit(args.database_url)._replace(path=f"/{database}").geturl()
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "0",
        "SECRET_KEY": uuid.uuid4().hex * 2,
        "ALLOWED_HOSTS": "127.0.0.1",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "LOG_LEVEL": "WARNING",
        "SITE_URL": f"http://127.0.0.1:{port}",
        "EMAIL_BACKEND": "console",
    }
    with psycopg.connect(args.database_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    log_path = Path(tempfile.gettempdir()) / f"load_fault_server_{os.getpid()}.log"
    # The server's own output (logs, console emails) goes there, not over the table.
    server = Gunicorn(
        env=env | {"ACCESS_LOG": "0"},
        port=port,
        options=["--workers", "2", "--threads", "4", "--log-level", "warning"],
        log=log_path.open("ab"),
    )
    try:
        manage = [PYTHON, str(ROOT / "manage.py")]
        subprocess.run([*manage, "migrate", "-v0"], env=env, cwd=ROOT, check=True)
        subprocess.run(
            [*manage, "collectstatic", "--noinput", "-v0"], env=env, cwd=ROOT, check=True
        )
        subprocess.run(
            [*manage, "demo_data", "--force"],
            env=env,
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        with psycopg.connect(url) as db:
            project_id, key = db.execute(
                "SELECT id, public_key FROM project WHERE slug = 'storefront'"
            ).fetchone()
            error_ids = [
                str(r[0]) for r in db.execute("SELECT id FROM error WHERE status <> 'duplicate'")
            ]
            people = [
                (u, str(i))
                for u, i in db.execute(
                    "SELECT username, id FROM tracking_user"
                    " WHERE username IN ('lead', 'engineer', 'engineer2')"
                )
            ]
            rtype_ids = [
                str(r[0]) for r in db.execute("SELECT id FROM resolution_type WHERE is_active")
            ]
            baseline_occurrences = db.execute("SELECT count(*) FROM error_occurrence").fetchone()[0]
            baseline_ingested = db.execute("SELECT count(*) FROM ingested_event").fetchone()[0]
            baseline_activity = Counter(
                {
                    (u, v): n
                    for u, v, n in db.execute(
                        "SELECT u.username, a.verb, count(*) FROM activity a"
                        " JOIN tracking_user u ON u.id = a.actor_id GROUP BY 1, 2"
                    )
                }
            )
        print(f"generating {args.events} events with sentry-sdk...", flush=True)
        envelopes = generate_events(args.events, seed=11)
        server.start()
        results = Results()
        path = f"/api/{project_id}/envelope/?sentry_key={key}"
        stop_at = time.monotonic() + 600
        chunks = [envelopes[i :: args.senders] for i in range(args.senders)]
        senders = [
            threading.Thread(target=sender, args=(port, path, chunk, results, stop_at))
            for chunk in chunks
        ]
        stop_actors = threading.Event()
        actor_threads = [
            threading.Thread(
                target=actor_loop,
                args=(port, u, p, error_ids, people, rtype_ids, results, stop_actors),
                daemon=True,
            )
            for u, p in ACTORS[: args.actors]
        ]
        started = time.monotonic()
        for thread in senders + actor_threads:
            thread.start()
        # Restart once, half-way through the events.
        while len(results.accepted_events) < args.events // 2 and any(
            t.is_alive() for t in senders
        ):
            time.sleep(0.05)
        print(
            f"restarting the server after {len(results.accepted_events)} accepted events...",
            flush=True,
        )
        server.stop(hard=args.hard)
        time.sleep(1.0)
        server.start()
        for thread in senders:
            thread.join()
        # Let the actors act a little on the restarted server, then stop them.
        time.sleep(3)
        stop_actors.set()
        for thread in actor_threads:
            thread.join()
        elapsed = time.monotonic() - started
        server.stop()
        time.sleep(0.5)

        with psycopg.connect(url) as db:
            stored = Counter(
                r[0].hex
                for r in db.execute(
                    "SELECT event_id FROM ingested_event WHERE project_id = %s", [project_id]
                )
            )
            new_ingested = (
                db.execute("SELECT count(*) FROM ingested_event").fetchone()[0] - baseline_ingested
            )
            occurrences = db.execute("SELECT count(*) FROM error_occurrence").fetchone()[0]
            counter_sum = db.execute("SELECT sum(occurrence_count) FROM error").fetchone()[0]
            activity = Counter(
                {
                    (u, v): n
                    for u, v, n in db.execute(
                        "SELECT u.username, a.verb, count(*) FROM activity a"
                        " JOIN tracking_user u ON u.id = a.actor_id GROUP BY 1, 2"
                    )
                }
            )
        accepted = Counter(results.accepted_events)
        with results.lock:
            done = Counter(results.actions_done)
        lost = [e for e in accepted if e not in stored]
        duplicates_sent = sum(1 for n in accepted.values() if n > 1)
        new_occurrences = occurrences - baseline_occurrences
        missing_actions = {
            k: n - (activity[k] - baseline_activity[k])
            for k, n in done.items()
            if activity[k] - baseline_activity[k] < n
        }
        rows = [
            ("events sent (distinct)", len(envelopes)),
            ("answered 200 (distinct event ids)", len(accepted)),
            ("answered 200 more than once (retries)", duplicates_sent),
            ("sends retried after no answer", results.retries),
            ("stored occurrences (new)", new_occurrences),
            ("lost (answered 200, not stored)", len(lost)),
            ("stored but never answered 200", new_ingested - len(accepted)),
            ("occurrences without their event id", new_occurrences - new_ingested),
            ("error counters == occurrences", counter_sum == occurrences),
            ("actions answered 302 (done)", sum(done.values())),
            ("actions refused (200/403)", results.actions_refused),
            ("actions done without activity row", sum(missing_actions.values())),
            ("5xx responses", len(results.server_errors)),
            ("responses by status", dict(sorted(results.statuses.items()))),
            ("seconds", round(elapsed, 1)),
        ]
        width = max(len(name) for name, _ in rows)
        for name, value in rows:
            print(f"{name:<{width}}  {value}")
        ok = (
            not lost
            and new_occurrences == new_ingested == len(accepted)
            and counter_sum == occurrences
            and not missing_actions
            and not results.server_errors
        )
        print(f"server log: {log_path}")
        print("RESULT:", "OK" if ok else "FAILED")
        if results.server_errors:
            print("5xx:", results.server_errors[:10])
        return 0 if ok else 1
    finally:
        server.stop()
        with psycopg.connect(args.database_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
