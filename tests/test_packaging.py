"""The files a new user or an image build meets first: Dockerfile, README, .ci/run, the script."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import icalendar
import pytest
import typer

from bot.cli import build_cli
from tests.conftest import REPO

DOCKERFILE = (REPO / "Dockerfile").read_text()


def _instructions(name: str) -> list[str]:
    return [
        line.split(None, 1)[1]
        for line in DOCKERFILE.splitlines()
        if line.split(None, 1)[:1] == [name] and len(line.split(None, 1)) == 2
    ]


def test_dockerfile_copies_only_paths_that_exist() -> None:
    copies = _instructions("COPY")
    assert copies
    for args in copies:
        parts = shlex.split(args)
        if any(p.startswith("--from") for p in parts):
            continue
        for source in parts[:-1]:
            assert (REPO / source).exists(), f"Dockerfile copies missing {source}"


def _cli_paths() -> set[tuple[str, ...]]:
    def walk(cmd: object, path: tuple[str, ...]) -> set[tuple[str, ...]]:
        found = {path}
        for name, sub in getattr(cmd, "commands", {}).items():
            found |= walk(sub, (*path, name))
        return found

    return walk(typer.main.get_command(build_cli(language="en")), ())


def test_dockerfile_runs_a_real_cli_command_as_non_root() -> None:
    entrypoint = json.loads(_instructions("ENTRYPOINT")[-1])
    cmd = json.loads(_instructions("CMD")[-1])
    assert entrypoint == ["aarshjul"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert "aarshjul" in scripts
    assert tuple(cmd) in _cli_paths(), f"CMD {cmd} is not an aarshjul command"
    user = _instructions("USER")[-1].strip()
    assert user not in ("root", "0")


def test_dockerfile_database_is_on_the_volume() -> None:
    volume = json.loads(_instructions("VOLUME")[-1])
    url = re.search(r"^\s+DATABASE_URL=(\S+)", DOCKERFILE, re.MULTILINE)
    assert url is not None
    assert url.group(1).startswith(f"sqlite:///{volume[0]}/")


def _readme_commands() -> list[str]:
    lines = (REPO / "README.md").read_text().splitlines()
    block_start = lines.index("```sh")
    # Nothing but the title may come before the two set-up commands.
    assert all(not line.strip() or line.startswith("# ") for line in lines[:block_start])
    return lines[block_start + 1 : block_start + 3]


def test_readme_starts_with_the_two_setup_commands() -> None:
    run, test = _readme_commands()
    assert "pip install -e ." in run and run.endswith("aarshjul run")
    assert test.endswith("pytest") and "'.[dev]'" in test


def test_ci_script_installs_and_runs_the_readme_test_command() -> None:
    script = REPO / ".ci" / "run"
    assert os.access(script, os.X_OK)
    text = script.read_text()
    assert text.startswith("#!/usr/bin/env bash")
    assert "pip install --quiet -e '.[dev]'" in text
    assert "ruff check" in text and "ruff format --check" in text
    assert "AARSHJUL_TEST_DATABASE_URL" in text
    assert "README.md" in text  # it runs the README's own line, so the two cannot drift


def _script() -> str:
    found = Path(sys.executable).parent / "aarshjul"
    if found.exists():
        return str(found)
    which = shutil.which("aarshjul")
    if which is None:
        pytest.fail("the aarshjul console script is not installed (pip install -e .)")
    return which


def test_console_script_runs_the_readme_flow_in_a_fresh_folder(tmp_path: Path) -> None:
    """The README's first command, minus the install: real processes, embedded defaults."""
    shutil.copy(REPO / "config.toml", tmp_path / "config.toml")
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("AARSHJUL") and k != "DATABASE_URL"
    }
    env["TZ"] = "Pacific/Auckland"  # the machine's zone must not matter

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [_script(), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )

    init = run("init")
    assert init.returncode == 0, init.stderr
    assert (tmp_path / "aarshjul.db").is_file()
    show = run("cycle", "show", "--council", "lbr-gribskov", "--year", "2027")
    assert show.returncode == 0, show.stderr
    assert "15.04.2027  torsdag" in show.stdout
    first, second = (
        run("cycle", "ics", "--council", "lbr-gribskov"),
        run("cycle", "ics", "--council", "lbr-gribskov"),
    )
    uids = [
        [str(e["UID"]) for e in icalendar.Calendar.from_ical(r.stdout).walk("VEVENT")]
        for r in (first, second)
    ]
    assert uids[0] and uids[0] == uids[1]
    bad = run("cycle", "show", "--council", "lbr-nope")
    assert bad.returncode == 1 and "lbr-nope" in bad.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_run_starts_on_a_fresh_folder_serves_healthz_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    """The README's first command (minus the install): ``aarshjul run`` on embedded defaults."""
    shutil.copy(REPO / "config.toml", tmp_path / "config.toml")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AARSHJUL", "SLACK_")) and k != "DATABASE_URL"
    }
    port = _free_port()
    proc = subprocess.Popen(
        [_script(), "run", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        body = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = json.loads(r.read())
                    break
            except OSError:
                time.sleep(0.2)
        assert body is not None, proc.stdout.read() if proc.poll() is not None else "no answer"
        assert body["status"] == "ok" and body["scheduler"] == "running"
        assert (tmp_path / "aarshjul.db").is_file()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
            assert "aarshjul_outbox_rows" in r.read().decode()
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    assert "stopping" in out


def test_run_on_a_port_in_use_says_so_and_exits_1(tmp_path: Path) -> None:
    shutil.copy(REPO / "config.toml", tmp_path / "config.toml")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("AARSHJUL", "SLACK_")) and k != "DATABASE_URL"
    }
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [_script(), "run", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert result.returncode == 1, result.stderr[-2000:]
    assert f"kan ikke lytte på 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr
