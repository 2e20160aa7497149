"""``aarshjul run`` as a person meets it: what it says at start, and a quiet stop.

The stop tests run the real console script in a fresh folder and send it the real
signals (Ctrl-C is SIGINT; ``docker stop`` and systemd send SIGTERM).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.config import Config, load_config
from bot.start_report import start_lines
from tests.conftest import REPO

LEVELS_TOO_LOUD = (" WARNING ", " ERROR ", " CRITICAL ")


def _script() -> str:
    found = Path(sys.executable).parent / "aarshjul"
    return str(found) if found.exists() else (shutil.which("aarshjul") or "aarshjul")


def _clean_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AARSHJUL", "SLACK_")) and k != "DATABASE_URL"
    }


def _run_until(tmp_path: Path, sig: signal.Signals, *args: str) -> str:
    """Start ``aarshjul run`` in ``tmp_path``, wait for its start-up summary, send
    ``sig``, and return everything it wrote to stderr."""
    shutil.copy(REPO / "config.toml", tmp_path / "config.toml")
    log = tmp_path / "stderr.txt"
    with log.open("w") as handle:
        proc = subprocess.Popen(
            [_script(), "run", "--port", "0", *args],
            cwd=tmp_path,
            env=_clean_env(),
            stdout=subprocess.DEVNULL,
            stderr=handle,
        )
    try:
        deadline = time.monotonic() + 90
        # Polls the process's own output (the world outside), not the scheduler.
        while "Ctrl-C" not in log.read_text():
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "no start-up summary within 90 s"
            time.sleep(0.05)
        proc.send_signal(sig)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, log.read_text()[-3000:]
    return log.read_text()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stop_logs_one_info_line_and_nothing_at_warning_or_above(
    tmp_path: Path, sig: signal.Signals
) -> None:
    err = _run_until(tmp_path, sig)
    assert "Traceback" not in err
    assert "SchedulerNotRunningError" not in err
    loud = [line for line in err.splitlines() if any(level in line for level in LEVELS_TOO_LOUD)]
    assert loud == []
    after = err.split("aarshjul.run stopping", 1)
    assert len(after) == 2, err[-3000:]
    # The stop itself says one line; what follows may only be deliveries finishing.
    tail = [line for line in after[1].splitlines() if line.strip()]
    assert [line for line in tail if " aarshjul.delivery delivery " not in line] == []


def test_run_says_where_everything_is_at_start(tmp_path: Path) -> None:
    err = _run_until(tmp_path, signal.SIGINT)
    port = err.split("http=127.0.0.1:", 1)[1].split()[0]
    assert f"Konfiguration: {tmp_path / 'config.toml'}" in err
    assert f"Database: sqlite+aiosqlite:///{tmp_path / 'aarshjul.db'}" in err
    assert f"E-mail: skrives som .eml-filer i {tmp_path / 'outbox-mail'}" in err
    assert "Slack: fra (SLACK_BOT_TOKEN mangler)" in err
    assert f"Sundhedstjek: http://127.0.0.1:{port}/healthz" in err
    assert "stop med Ctrl-C" in err


def _config(tmp_path: Path, toml: str, **env: str) -> Config:
    (tmp_path / "config.toml").write_text(toml)
    return load_config({"AARSHJUL_CONFIG": str(tmp_path / "config.toml"), **env}, tmp_path)


def test_start_summary_hides_the_password_and_names_the_smtp_server_in_english(
    tmp_path: Path,
) -> None:
    config = _config(
        tmp_path,
        '[general]\nlanguage = "en"\n'
        '[email]\nbackend = "smtp"\nhost = "smtp.example.dk"\nport = 2525\n',
        DATABASE_URL="postgresql://aarshjul:hunter2@db.example.dk:5432/aarshjul",
        SLACK_BOT_TOKEN="xoxb-1",
    )
    lines = start_lines(config, transport="off", mode="auto", http="http://127.0.0.1:3000")
    text = "\n".join(lines)
    assert "hunter2" not in text
    assert "Database: postgresql+asyncpg://aarshjul:***@db.example.dk:5432/aarshjul" in lines
    assert "E-mail: sent through the SMTP server smtp.example.dk:2525 (starttls)" in lines
    assert (
        "Slack: sends messages but receives no commands "
        "(SLACK_APP_TOKEN or SLACK_SIGNING_SECRET is missing)" in lines
    )
    assert "Health check: http://127.0.0.1:3000/healthz" in lines
    assert lines[-1] == "Running; stop with Ctrl-C."


def test_start_summary_names_the_slack_transport(tmp_path: Path) -> None:
    config = _config(tmp_path, "", SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s")
    http = start_lines(config, transport="http", mode="auto", http="http://0.0.0.0:3000")
    assert "Slack: til (HTTP på http://0.0.0.0:3000/slack/events)" in http
    socket = start_lines(config, transport="socket", mode="socket", http="http://0.0.0.0:3000")
    assert "Slack: til (Socket Mode)" in socket
    off = start_lines(config, transport="off", mode="off", http="http://0.0.0.0:3000")
    assert "Slack: sender beskeder, men modtager ingen kommandoer (--mode off)" in off
