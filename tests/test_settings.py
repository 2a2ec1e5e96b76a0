"""Production settings: configured from the environment, `check --deploy` clean."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "x9$Qm!r2-production-like-secret-key-that-is-long-and-random-enough-7Kp",
    "ALLOWED_HOSTS": "errors.example.com",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
}


def manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    # The test run's own DJANGO_ALLOW_ASYNC_UNSAFE (for Playwright) is not production's.
    skip = set(PRODUCTION_ENV) | {"DJANGO_ALLOW_ASYNC_UNSAFE"}
    clean = {k: v for k, v in os.environ.items() if k not in skip}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean_under_production_settings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    env = PRODUCTION_ENV | {"SECRET_KEY": ""}
    result = manage("check", env=env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("SESSION_COOKIE_SECURE", "True"),
        ("CSRF_COOKIE_SECURE", "True"),
        ("SESSION_COOKIE_HTTPONLY", "True"),
        ("DEBUG", "False"),
        ("ALLOWED_HOSTS", "['errors.example.com']"),
    ],
)
def test_production_settings_from_environment(setting, expected):
    result = manage(
        "shell",
        "-c",
        f"from django.conf import settings; print(settings.{setting})",
        env=PRODUCTION_ENV,
    )
    assert result.stdout.strip().splitlines()[-1] == expected, result.stderr


SHOW_SESSION = (
    "from django.db import connection; cursor = connection.cursor();"
    " print([cursor.execute(f'SHOW {name}').fetchone()[0]"
    " for name in ('max_parallel_workers_per_gather', 'jit')])"
)


def test_postgresql_sessions_plan_without_parallel_workers_or_jit():
    # A real PostgreSQL session of the application, as production opens it.
    result = manage("shell", "-c", SHOW_SESSION, env=PRODUCTION_ENV)
    assert result.stdout.strip().splitlines()[-1] == "['0', 'off']", result.stderr
    # Empty: the server's own settings.
    result = manage("shell", "-c", SHOW_SESSION, env=PRODUCTION_ENV | {"POSTGRES_OPTIONS": ""})
    assert result.stdout.strip().splitlines()[-1] != "['0', 'off']", result.stderr


def test_csp_header_has_nonce_and_no_unsafe_inline(client):
    response = client.get("/login/")
    policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy
    assert "unsafe-inline" not in policy
