"""``[inbound]``: its defaults, the example file, and one clear refusal per bad value."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.config import load_config
from bot.i18n import error_text
from scheduler.errors import ConfigError
from tests.imap_server import dovecot_missing

REPO = Path(__file__).resolve().parent.parent


def refusal(tmp_path: Path, toml: str, language: str = "da") -> str:
    (tmp_path / "config.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(environ={}, cwd=tmp_path)
    return error_text(caught.value, language)


def test_defaults_and_the_example_file(tmp_path: Path) -> None:
    inbound = load_config(environ={}, cwd=tmp_path).settings.inbound
    assert (inbound.backend, inbound.folder, inbound.poll_seconds) == ("none", "INBOX", 60)
    assert (inbound.done_folder, inbound.failed_folder) == ("done", "failed")
    assert (inbound.keep_raw_days, inbound.max_bytes, inbound.tls) == (90, 25 * 1024**2, "implicit")
    example = load_config(environ={"AARSHJUL_CONFIG": str(REPO / "config.toml")}, cwd=tmp_path)
    assert example.settings.inbound == inbound


def test_credentials_come_from_the_environment_only(tmp_path: Path) -> None:
    config = load_config(
        environ={"IMAP_USERNAME": "sekretariat", "IMAP_PASSWORD": "s3cret"}, cwd=tmp_path
    )
    assert config.secrets.imap_username == "sekretariat"
    assert config.secrets.imap_password is not None
    assert "s3cret" not in repr(config.secrets)
    said = refusal(tmp_path, '[inbound]\npassword = "x"\n')
    assert "password" in said


@pytest.mark.parametrize(
    ("toml", "says"),
    [
        ('[inbound]\nbackend = "pop3"\n', "inbound.backend"),
        ('[inbound]\ntls = "ssl"\n', "inbound.tls"),
        ('[inbound]\nbackend = "imap"\n', "kræver host"),
        ('[inbound]\ndone_folder = "INBOX"\n', "tre forskellige mapper"),
        ('[inbound]\nfolder = "In*"\n', "inbound.folder"),
        ("[inbound]\npoll_seconds = 0\n", "inbound.poll_seconds"),
        ("[inbound]\nkeep_raw_days = -1\n", "inbound.keep_raw_days"),
        ('[inbound]\nreply_adress = "x@y"\n', "reply_adress"),
    ],
)
def test_bad_values_are_refused_in_danish(tmp_path: Path, toml: str, says: str) -> None:
    said = refusal(tmp_path, toml)
    assert says in said
    assert "Input should" not in said  # said by the catalogue, not by pydantic


def test_the_imap_host_refusal_in_english(tmp_path: Path) -> None:
    said = refusal(tmp_path, '[general]\nlanguage = "en"\n[inbound]\nbackend = "imap"\n', "en")
    assert "needs host" in said


def test_run_names_the_mailbox_it_reads(tmp_path: Path) -> None:
    from bot.start_report import start_lines

    environ = {"AARSHJUL__INBOUND__BACKEND": "imap", "AARSHJUL__INBOUND__HOST": "imap.example.dk"}
    config = load_config(environ=environ, cwd=tmp_path)
    lines = start_lines(config, transport="off", mode="auto", http="http://127.0.0.1:3000")
    assert (
        "Indgående e-mail: læses fra INBOX på IMAP-serveren imap.example.dk:993 (implicit); "
        "flyttes til done eller failed"
    ) in lines
    quiet = start_lines(
        load_config(environ={}, cwd=tmp_path), transport="off", mode="auto", http="http://x"
    )
    assert not any("Indgående" in line for line in quiet)


@pytest.mark.skipif(not os.environ.get("CI"), reason="in CI only (.ci/run installs Dovecot)")
def test_ci_has_dovecot_so_the_imap_tests_run_instead_of_skipping() -> None:
    assert dovecot_missing() is None
