"""load_config: the example file, defaults, environment overrides and error messages.

Every call passes an explicit ``environ`` and a temporary ``cwd`` so neither the
developer's environment nor a config.toml in the checkout can leak into a test.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from datetime import time
from pathlib import Path

import pytest

from bot.config import DEFAULT_DATABASE_URL, Config, load_config
from scheduler.errors import ConfigError
from scheduler.model import CouncilKind, Language

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "config.toml"
BUILT_IN = "(built-in defaults)"

BER = '[[councils]]\nkey = "ber"\nkind = "BER"\nname = "Beskæftigelsesrådet"\n'
RBR = '[[councils]]\nkey = "rbr-nord"\nkind = "RBR"\nname = "RBR Nordjylland"\n'


def load(cwd: Path, environ: Mapping[str, str] | None = None) -> Config:
    return load_config(environ=dict(environ or {}), cwd=cwd)


def load_error(cwd: Path, environ: Mapping[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load(cwd, environ)
    return str(caught.value)


def write(folder: Path, text: str, name: str = "config.toml") -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def example_env(**more: str) -> dict[str, str]:
    return {"AARSHJUL_CONFIG": str(EXAMPLE), **more}


# --- where the configuration comes from ---------------------------------------------------


def test_example_config_loads_and_validates(tmp_path: Path) -> None:
    config = load(tmp_path, example_env())
    settings = config.settings

    assert config.source == str(EXAMPLE)
    assert len(settings.councils) == 10
    kinds = [c.kind for c in settings.councils]
    assert kinds.count(CouncilKind.BER) == 1
    assert kinds.count(CouncilKind.RBR) == 4
    assert kinds.count(CouncilKind.LBR) == 5
    rbr_keys = {c.key for c in settings.councils if c.kind is CouncilKind.RBR}
    for council in settings.councils:
        if council.kind is CouncilKind.LBR:
            assert council.region in rbr_keys, council.key
        else:
            assert council.region is None, council.key
    assert settings.council("lbr-norddjurs").reminder_offsets == (15, 10, 5, 1, 0)
    assert settings.general.language is Language.DA
    assert settings.general.timezone == "Europe/Copenhagen"
    assert settings.reminders.offsets == (14, 7, 1, 0)
    assert settings.reminders.send_at == time(8, 0)
    # The file says sqlite:///; the async driver is filled in.
    assert settings.database.url == "sqlite+aiosqlite:///aarshjul.db"


def test_config_toml_in_the_working_directory_is_read(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE, tmp_path / "config.toml")
    config = load(tmp_path)
    assert config.source == str(tmp_path / "config.toml")
    assert len(config.settings.councils) == 10


def test_without_a_file_the_built_in_defaults_load(tmp_path: Path) -> None:
    config = load(tmp_path)
    settings = config.settings
    assert config.source == BUILT_IN
    assert settings.councils == ()
    assert settings.email.port == 587
    assert settings.email.backend == "file"
    assert settings.general.language is Language.DA
    assert settings.database.url == DEFAULT_DATABASE_URL
    assert settings.reminders.offsets == (14, 7, 1, 0)


def test_aarshjul_config_names_another_file(tmp_path: Path) -> None:
    write(tmp_path, "[email]\nport = 25\n")  # ignored: the named file wins
    other_dir = tmp_path / "elsewhere"
    other_dir.mkdir()
    other = write(other_dir, "[email]\nport = 465\ntls = 'implicit'\n", name="other.toml")

    config = load(tmp_path, {"AARSHJUL_CONFIG": str(other)})

    assert config.source == str(other)
    assert config.settings.email.port == 465
    assert config.settings.email.tls == "implicit"


def test_aarshjul_config_naming_a_missing_file_is_an_error(tmp_path: Path) -> None:
    write(tmp_path, "[email]\nport = 25\n")  # must not be used as a fallback
    missing = tmp_path / "nowhere" / "missing.toml"
    message = load_error(tmp_path, {"AARSHJUL_CONFIG": str(missing)})
    assert "AARSHJUL_CONFIG" in message
    assert str(missing) in message


# --- environment overrides ---------------------------------------------------------------------


def test_env_override_parses_an_integer(tmp_path: Path) -> None:
    write(tmp_path, "[email]\nport = 25\n")
    port = load(tmp_path, {"AARSHJUL__EMAIL__PORT": "2525"}).settings.email.port
    assert port == 2525
    assert type(port) is int


def test_env_override_sets_the_language(tmp_path: Path) -> None:
    config = load(tmp_path, example_env(AARSHJUL__GENERAL__LANGUAGE="en"))
    assert config.settings.general.language is Language.EN


def test_env_override_list_value_parses_as_toml(tmp_path: Path) -> None:
    config = load(tmp_path, example_env(AARSHJUL__REMINDERS__OFFSETS="[10, 3]"))
    assert config.settings.reminders.offsets == (10, 3)


def test_env_override_time_value_parses_as_toml(tmp_path: Path) -> None:
    config = load(tmp_path, {"AARSHJUL__REMINDERS__SEND_AT": "09:30:00"})
    assert config.settings.reminders.send_at == time(9, 30)


def test_env_override_that_is_not_toml_stays_a_string(tmp_path: Path) -> None:
    config = load(tmp_path, {"AARSHJUL__EMAIL__HOST": "smtp.example.dk"})
    assert config.settings.email.host == "smtp.example.dk"


def test_env_override_addresses_a_list_entry_by_index(tmp_path: Path) -> None:
    baseline = load(tmp_path, example_env()).settings.councils
    config = load(
        tmp_path,
        example_env(
            AARSHJUL__COUNCILS__0__NAME="Nyt navn",
            AARSHJUL__COUNCILS__5__SLACK_CHANNEL="lbr-test",
        ),
    )
    councils = config.settings.councils
    assert councils[0].key == "ber"
    assert councils[0].name == "Nyt navn"
    assert councils[5].key == "lbr-gribskov"
    assert councils[5].slack_channel == "lbr-test"
    # Nothing else changed.
    assert [c.key for c in councils] == [c.key for c in baseline]
    assert councils[1:5] == baseline[1:5]
    assert councils[6:] == baseline[6:]


@pytest.mark.parametrize("index", ["10", "99", "x", "-1"])
def test_env_override_with_a_bad_list_index_names_the_variable(tmp_path: Path, index: str) -> None:
    var = f"AARSHJUL__COUNCILS__{index}__NAME"
    message = load_error(tmp_path, example_env(**{var: "Nyt navn"}))
    assert var in message


def test_env_override_of_a_list_entry_when_there_is_no_list_names_the_variable(
    tmp_path: Path,
) -> None:
    var = "AARSHJUL__COUNCILS__0__NAME"
    message = load_error(tmp_path, {var: "Nyt navn"})
    assert var in message


def test_env_override_below_a_scalar_list_item_is_a_config_error(tmp_path: Path) -> None:
    var = "AARSHJUL__REMINDERS__OFFSETS__0__X"
    message = load_error(tmp_path, example_env(**{var: "1"}))
    assert var in message


def test_env_override_below_a_scalar_value_is_a_config_error(tmp_path: Path) -> None:
    var = "AARSHJUL__EMAIL__PORT__X"
    message = load_error(tmp_path, example_env(**{var: "1"}))
    assert var in message
    assert "email.port" in message


def test_variables_without_the_double_underscore_prefix_are_ignored(tmp_path: Path) -> None:
    config = load(tmp_path, {"AARSHJUL_EMAIL_PORT": "2525", "EMAIL__PORT": "2525"})
    assert config.settings.email.port == 587


def test_error_caused_by_an_env_override_names_the_variable(tmp_path: Path) -> None:
    write(tmp_path, "[email]\nport = 25\n")
    message = load_error(tmp_path, {"AARSHJUL__EMAIL__PORT": "many"})
    assert "set by AARSHJUL__EMAIL__PORT" in message
    assert "email.port" in message
    assert "'many'" in message


def test_error_from_an_env_override_of_the_time_zone_names_the_variable(tmp_path: Path) -> None:
    message = load_error(tmp_path, {"AARSHJUL__GENERAL__TIMEZONE": "Mars/Olympus"})
    assert "set by AARSHJUL__GENERAL__TIMEZONE" in message
    assert "Mars/Olympus" in message


def test_error_in_the_file_is_not_blamed_on_an_unrelated_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "[email]\nport = 'many'\n")
    message = load_error(tmp_path, {"AARSHJUL__EMAIL__HOST": "smtp.example.dk"})
    assert str(path) in message
    assert "email.port" in message
    assert "set by" not in message


# --- DATABASE_URL ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://app@db:5432/aarshjul", "postgresql+asyncpg://app@db:5432/aarshjul"),
        ("postgresql://app@db:5432/aarshjul", "postgresql+asyncpg://app@db:5432/aarshjul"),
        ("postgresql+asyncpg://app@db/aarshjul", "postgresql+asyncpg://app@db/aarshjul"),
        ("sqlite:///data/aarshjul.db", "sqlite+aiosqlite:///data/aarshjul.db"),
        ("sqlite+aiosqlite:///x.db", "sqlite+aiosqlite:///x.db"),
        ("  sqlite:///x.db\n", "sqlite+aiosqlite:///x.db"),
    ],
)
def test_database_url_is_normalised_to_an_async_driver(
    tmp_path: Path, given: str, expected: str
) -> None:
    config = load(tmp_path, {"DATABASE_URL": given})
    assert config.settings.database.url == expected


def test_database_url_overrides_the_file_and_the_section_variable(tmp_path: Path) -> None:
    write(tmp_path, '[database]\nurl = "sqlite:///from-file.db"\n')
    assert load(tmp_path).settings.database.url == "sqlite+aiosqlite:///from-file.db"
    config = load(
        tmp_path,
        {
            "AARSHJUL__DATABASE__URL": "sqlite:///from-section-var.db",
            "DATABASE_URL": "postgres://app@db/aarshjul",
        },
    )
    assert config.settings.database.url == "postgresql+asyncpg://app@db/aarshjul"


def test_empty_database_url_is_ignored(tmp_path: Path) -> None:
    assert load(tmp_path, {"DATABASE_URL": ""}).settings.database.url == DEFAULT_DATABASE_URL


def test_unsupported_database_url_is_refused_without_its_password(tmp_path: Path) -> None:
    message = load_error(tmp_path, {"DATABASE_URL": "mysql://app:hunter2@db:3306/aarshjul"})
    assert "DATABASE_URL" in message
    assert "mysql" in message
    assert "hunter2" not in message
    assert "app:" not in message


def test_unsupported_database_url_in_the_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, '[database]\nurl = "mysql://app@db/aarshjul"\n')
    message = load_error(tmp_path)
    assert str(path) in message
    assert "database.url" in message


# --- a malformed file -----------------------------------------------------------------------


def test_invalid_toml_names_the_file_and_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[general]\nlanguage = "da"\ntimezone = \n')
    message = load_error(tmp_path)
    assert str(path) in message
    assert "TOML" in message
    assert "line 3" in message


def test_wrong_type_names_the_file_the_key_and_what_was_expected(tmp_path: Path) -> None:
    path = write(tmp_path, '[email]\nport = "many"\n')
    message = load_error(tmp_path)
    assert str(path) in message
    assert "email.port" in message
    assert "integer" in message
    assert "'many'" in message
    assert "set by" not in message


def test_value_out_of_range_says_the_limit(tmp_path: Path) -> None:
    write(tmp_path, "[email]\nport = 70000\n")
    message = load_error(tmp_path)
    assert "email.port" in message
    assert "65535" in message


def test_literal_choice_lists_the_allowed_values(tmp_path: Path) -> None:
    write(tmp_path, '[email]\nbackend = "pigeon"\n')
    message = load_error(tmp_path)
    assert "email.backend" in message
    assert "smtp" in message
    assert "file" in message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[email]\nprot = 25\n", "email.prot"),
        ("[emial]\nport = 25\n", "emial"),
        (BER + "chanel = 'ber'\n", "councils[0] (key 'ber').chanel"),
    ],
)
def test_unknown_key_is_named(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, text)
    message = load_error(tmp_path)
    assert str(path) in message
    assert key in message
    assert "unknown key" in message


def test_unknown_time_zone_is_refused(tmp_path: Path) -> None:
    write(tmp_path, '[general]\ntimezone = "Europe/Kobenhavn"\n')
    message = load_error(tmp_path)
    assert "general.timezone" in message
    assert "unknown time zone" in message
    assert "Europe/Kobenhavn" in message


def test_unknown_closed_day_is_refused(tmp_path: Path) -> None:
    write(tmp_path, '[calendar]\nclosed_days = ["boxing_day"]\n')
    message = load_error(tmp_path)
    assert "calendar.closed_days" in message
    assert "boxing_day" in message


def test_invalid_council_field_names_the_council(tmp_path: Path) -> None:
    write(tmp_path, BER + RBR.replace('"rbr-nord"', '"RBR Nord"'))
    message = load_error(tmp_path)
    assert "councils[1]" in message
    assert "RBR Nord" in message
    assert ".key" in message


def test_lbr_without_a_region_is_refused(tmp_path: Path) -> None:
    write(tmp_path, RBR + '[[councils]]\nkey = "lbr-aalborg"\nkind = "LBR"\nname = "LBR Aalborg"\n')
    message = load_error(tmp_path)
    assert "lbr-aalborg" in message
    assert "region" in message


@pytest.mark.parametrize("region", ["ber", "rbr-nowhere"])
def test_lbr_whose_region_is_not_an_rbr_is_refused(tmp_path: Path, region: str) -> None:
    lbr = (
        '[[councils]]\nkey = "lbr-aalborg"\nkind = "LBR"\nname = "LBR Aalborg"\n'
        f'region = "{region}"\n'
    )
    write(tmp_path, BER + RBR + lbr)
    message = load_error(tmp_path)
    assert "lbr-aalborg" in message
    assert repr(region) in message
    assert "not an RBR" in message


def test_only_an_lbr_has_a_region(tmp_path: Path) -> None:
    write(tmp_path, RBR + BER + 'region = "rbr-nord"\n')
    message = load_error(tmp_path)
    assert "'ber'" in message
    assert "only an LBR" in message


def test_duplicate_council_keys_are_refused(tmp_path: Path) -> None:
    write(tmp_path, BER + BER.replace("Beskæftigelsesrådet", "Et andet råd"))
    message = load_error(tmp_path)
    assert "'ber'" in message
    assert "twice" in message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[slack]\nbot_token = 'xoxb-leaked-value'\n", "slack.bot_token"),
        ("[slack]\nsigning_secret = 'xoxb-leaked-value'\n", "slack.signing_secret"),
        ("[email]\npassword = 'xoxb-leaked-value'\n", "email.password"),
        ("[email]\nsmtp_passwd = 'xoxb-leaked-value'\n", "email.smtp_passwd"),
        ("[weather]\napi_key = 'xoxb-leaked-value'\n", "weather.api_key"),
        (BER + "token = 'xoxb-leaked-value'\n", "councils[0].token"),
    ],
)
def test_secret_looking_key_in_the_file_is_refused(tmp_path: Path, text: str, key: str) -> None:
    path = write(tmp_path, text)
    message = load_error(tmp_path)
    assert str(path) in message
    assert key in message
    assert "environment" in message
    assert "xoxb-leaked-value" not in message


def test_secretariat_email_is_not_taken_for_a_secret(tmp_path: Path) -> None:
    write(tmp_path, BER + 'secretariat_email = "ber-sekretariat@example.dk"\n')
    config = load(tmp_path)
    assert config.settings.council("ber").secretariat_email == "ber-sekretariat@example.dk"


# --- secrets ---------------------------------------------------------------------------------

SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-bot-0123456789",
    "SLACK_APP_TOKEN": "xapp-app-0123456789",
    "SLACK_SIGNING_SECRET": "signing-0123456789",
    "SMTP_USERNAME": "aarshjul-mailer",
    "SMTP_PASSWORD": "smtp-pw-0123456789",
}


def test_secrets_come_from_the_environment(tmp_path: Path) -> None:
    secrets = load(tmp_path, example_env(**SECRETS)).secrets
    assert secrets.slack_bot_token.get_secret_value() == SECRETS["SLACK_BOT_TOKEN"]
    assert secrets.slack_app_token.get_secret_value() == SECRETS["SLACK_APP_TOKEN"]
    assert secrets.slack_signing_secret.get_secret_value() == SECRETS["SLACK_SIGNING_SECRET"]
    assert secrets.smtp_username == SECRETS["SMTP_USERNAME"]
    assert secrets.smtp_password.get_secret_value() == SECRETS["SMTP_PASSWORD"]


def test_missing_or_empty_secrets_are_none(tmp_path: Path) -> None:
    secrets = load(tmp_path, {"SLACK_BOT_TOKEN": ""}).secrets
    assert secrets.slack_bot_token is None
    assert secrets.smtp_password is None


def test_the_process_environment_is_not_read_when_environ_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-process")
    monkeypatch.setenv("AARSHJUL__EMAIL__PORT", "2525")
    config = load(tmp_path, {})
    assert config.secrets.slack_bot_token is None
    assert config.settings.email.port == 587


@pytest.mark.parametrize("render", [repr, str])
def test_secrets_never_show_when_the_config_is_printed(tmp_path: Path, render: object) -> None:
    config = load(tmp_path, example_env(**SECRETS))
    text = render(config)  # type: ignore[operator]
    for name in ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SMTP_PASSWORD"):
        assert SECRETS[name] not in text, name
    assert text.count("**********") >= 4
    # Printing the secrets section alone is just as safe.
    assert SECRETS["SLACK_BOT_TOKEN"] not in render(config.secrets)  # type: ignore[operator]


def test_database_password_never_prints(tmp_path: Path) -> None:
    config = load(tmp_path, {"DATABASE_URL": "postgres://app:hunter2@db.example/aarshjul"})
    assert config.settings.database.url == "postgresql+asyncpg://app:hunter2@db.example/aarshjul"
    assert "hunter2" not in repr(config) and "hunter2" not in str(config)
    assert "app:***@db.example" in repr(config.settings.database)
    message = load_error(tmp_path, {"DATABASE_URL": "hunter2secret"})
    assert "hunter2" not in message and "sqlite:///" in message and "postgresql://" in message
