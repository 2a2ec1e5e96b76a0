"""The Makefile's set-up: a quick look installs the app only; tests get the dev tools
and a second pass on SQLite. Read through `make -n` (prints, runs nothing)."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def planned(target: str) -> list[str]:
    result = subprocess.run(
        ["make", "-n", target], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return result.stdout.splitlines()


def syncs(lines: list[str]) -> list[str]:
    return [line for line in lines if " sync " in line]


def test_make_run_installs_only_the_apps_dependencies():
    [sync] = syncs(planned("run"))
    assert "--no-dev" in sync
    assert "--locked" in sync


def test_make_test_installs_the_dev_tools_and_runs_a_sqlite_pass():
    lines = planned("test")
    assert syncs(lines) and all("--no-dev" not in sync for sync in syncs(lines))
    text = "\n".join(lines)
    assert "DATABASE_URL=sqlite:///" in text
    assert '-m "not browser and not postgres_only"' in text
