"""The pure parts of the results watch: period and value forms, and the check's rules
(the group mean without the jobcentre itself, the bad direction, consecutive periods)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from bot.config import (
    MeasureConfig,
    ResultsConfig,
    ResultsGroupConfig,
    ResultsThresholdConfig,
)
from bot.services.results.check import find_deviations
from bot.services.results.importing import _period_of, parse_value
from bot.services.results.periods import parse_period, period_index, period_label


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("2026-09", "2026-09"),
        ("2026M09", "2026-09"),
        ("2026m9", "2026-09"),
        ("2026Q3", "2026-Q3"),
        ("2026-q4", "2026-Q4"),
        (" 2026-01 ", "2026-01"),
        ("2026-13", None),
        ("2026-00", None),
        ("2026Q5", None),
        ("09-2026", None),
        ("", None),
    ],
)
def test_period_forms(text: str, canonical: str | None) -> None:
    assert parse_period(text) == canonical


def test_periods_in_order_and_in_words() -> None:
    assert period_index("2027-01") - period_index("2026-12") == 1
    assert period_index("2027-Q1") - period_index("2026-Q4") == 1
    assert period_label("2026-09", "da") == "sep. 2026"
    assert period_label("2026-Q3", "en") == "Q3 2026"
    assert _period_of(datetime(2026, 9, 1)) == "2026-09"  # Excel made "2026-09" a date


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("12,5", 12.5),
        ("12.5", 12.5),
        ("1.234,5", 1234.5),
        ("1,234.5", 1234.5),
        ("-3,25", -3.25),
        (" 7 ", 7.0),
        ("1 234,5", 1234.5),
        (7, 7.0),
        (2.5, 2.5),
        ("n/a", None),
        ("", None),
        ("nan", None),
        ("inf", None),
        ("1_0", None),
        ("12,5,1", None),
        (True, None),
    ],
)
def test_value_forms(raw: object, value: float | None) -> None:
    assert parse_value(raw) == value


MEMBERS = ("lbr-a", "lbr-b", "lbr-c", "lbr-d")
MONTHS = [f"2026-{m:02d}" for m in range(1, 7)]


def _results(higher_is_better: bool, *, periods: int = 2, percent: float | None = 10,
             points: float | None = None) -> ResultsConfig:  # fmt: skip
    return ResultsConfig(
        measures={
            "m": MeasureConfig(name_da="M", name_en="M", unit="", higher_is_better=higher_is_better)
        },
        groups=(ResultsGroupConfig(key="g", name="G", members=MEMBERS),),
        thresholds=(
            ResultsThresholdConfig(
                council="rbr",
                measure="m",
                percent=percent,
                points=points,
                periods=periods,
                agreed_on=date(2026, 1, 1),
                agreed_with="RD",
            ),
        ),
    )


def _values(own: list[float | None]) -> dict[tuple[str, str], dict[str, float]]:
    values = {(k, "m"): {p: 10.0 for p in MONTHS} for k in MEMBERS}
    values[("lbr-a", "m")] = {p: v for p, v in zip(MONTHS, own, strict=True) if v is not None}
    return values


REGIONS = dict.fromkeys(MEMBERS, "rbr")


def test_one_noisy_month_is_no_deviation_two_in_a_row_are() -> None:
    results = _results(higher_is_better=False)
    once = find_deviations(_values([10, 10, 10, 10, 10, 12]), results, REGIONS)
    assert once.findings == [] and once.checked[("lbr-a", "m")] == "2026-06"
    twice = find_deviations(_values([10, 12, 10, 10, 12, 12]), results, REGIONS)
    (found,) = twice.findings
    assert (found.council, found.since, found.period, found.periods) == (
        "lbr-a", "2026-05", "2026-06", 2,
    )  # fmt: skip
    # The mean is the others' (10), not the group's with lbr-a in it (10.5).
    assert found.group_mean == 10 and found.difference == 2
    assert found.percent == pytest.approx(20)


def test_only_the_bad_direction_counts() -> None:
    low = _values([10, 10, 10, 10, 8.5, 8.5])
    assert find_deviations(low, _results(higher_is_better=False), REGIONS).findings == []
    (found,) = find_deviations(low, _results(higher_is_better=True), REGIONS).findings
    assert (found.council, found.difference) == ("lbr-a", -1.5)


def test_exactly_at_the_threshold_is_within_and_points_are_the_unit() -> None:
    at = _values([10, 10, 10, 10, 11, 11])
    assert find_deviations(at, _results(False), REGIONS).findings == []
    points = _results(False, percent=None, points=0.5)
    assert len(find_deviations(at, points, REGIONS).findings) == 1


def test_a_missing_month_breaks_the_run() -> None:
    gap = _values([10, 10, 12, None, 12, 12])
    (found,) = find_deviations(gap, _results(False, periods=2), REGIONS).findings
    assert found.since == "2026-05"
    assert find_deviations(gap, _results(False, periods=3), REGIONS).findings == []


def test_as_of_an_earlier_period() -> None:
    values = _values([10, 12, 12, 10, 10, 10])
    results = _results(False)
    assert find_deviations(values, results, REGIONS).findings == []
    (found,) = find_deviations(values, results, REGIONS, until="2026-03").findings
    assert (found.since, found.period) == ("2026-02", "2026-03")
    # A jobcentre without a figure in that period is not checked (nor ended) there.
    values[("lbr-a", "m")].pop("2026-03")
    back = find_deviations(values, results, REGIONS, until="2026-03")
    assert back.findings == [] and ("lbr-a", "m") not in back.checked


BASE = """
[[councils]]
key = "rbr-x"
kind = "RBR"
name = "RBR X"

[[councils]]
key = "lbr-a"
kind = "LBR"
name = "LBR A"
region = "rbr-x"
jobcentre = "Alfa"

[[councils]]
key = "lbr-b"
kind = "LBR"
name = "LBR B"
region = "rbr-x"

[results.measures.m]
name_da = "M"
name_en = "M"
higher_is_better = false
"""


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (
            '[[results.thresholds]]\ncouncil = "lbr-a"\nmeasure = "m"\npercent = 5\n'
            'agreed_on = 2026-01-01\nagreed_with = "RD"\n',
            "'lbr-a' is not an RBR",
        ),
        (
            '[[results.thresholds]]\ncouncil = "rbr-x"\nmeasure = "q"\npercent = 5\n'
            'agreed_on = 2026-01-01\nagreed_with = "RD"\n',
            "the measure 'q' is not in [results.measures]",
        ),
        (
            '[[results.thresholds]]\ncouncil = "rbr-x"\nmeasure = "m"\npercent = 5\npoints = 1\n'
            'agreed_on = 2026-01-01\nagreed_with = "RD"\n',
            "exactly one of them",
        ),
        (
            '[[results.groups]]\nkey = "g"\nname = "G"\nmembers = ["lbr-a", "rbr-x"]\n',
            "'rbr-x' is not an LBR",
        ),
        (
            '[[results.groups]]\nkey = "g"\nname = "G"\nmembers = ["lbr-a", "lbr-b"]\n'
            '[[results.groups]]\nkey = "h"\nname = "H"\nmembers = ["lbr-b", "lbr-a"]\n',
            "'lbr-b' is in both 'g' and 'h'",
        ),
    ],
)
def test_results_configuration_refusals_name_the_key(tmp_path: Path, extra: str, says: str) -> None:
    from bot.config import load_config
    from scheduler.errors import ConfigError

    folder = tmp_path
    (folder / "config.toml").write_text(BASE + extra, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(environ={}, cwd=folder)
    assert says in str(refused.value)


def test_a_valid_results_configuration_loads(tmp_path: Path) -> None:
    from bot.config import load_config

    folder = tmp_path
    (folder / "config.toml").write_text(
        BASE
        + '[[results.groups]]\nkey = "g"\nname = "G"\nmembers = ["lbr-a", "lbr-b"]\n'
        + '[[results.thresholds]]\ncouncil = "rbr-x"\nmeasure = "m"\npoints = 0.5\n'
        + 'agreed_on = 2026-01-01\nagreed_with = "RD"\n',
        encoding="utf-8",
    )
    results = load_config(environ={}, cwd=folder).settings.results
    assert results.group_of("lbr-b") is not None and results.thresholds[0].periods == 2
    assert results.measure("m") is not None and results.measure("x") is None
