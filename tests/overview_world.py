"""A region with three LBRs in different states of their year, for the overview tests.

The clock stands at Friday 20 August 2027, 09:00 in Copenhagen: the seminar (27 May)
and the result-review hearing (16 June) and business plan (17 August) deadlines have
passed; the employment-plan hearing (31 August) is near; the rest is to come.

- ``lbr-alfa``: result review heard and closed (2 of 3 answered), business plan
  marked done, the employment-plan hearing open (1 of 3 answered).
- ``lbr-beta``: its result-review hearing still open after the deadline (late).
- ``lbr-gamma``: nothing done (late where the date passed).
- ``lbr-beta`` also has an open deviation alert (its jobcentre 18 % below its group on
  the share in work, since 2027-05) and a recommendation to the RBR sent and not
  answered.
- ``lbr-delta`` is in another region (``rbr-syd``).

``region_world(..., crowd=20)`` adds 20 more LBRs to ``rbr-nord`` (23 in all, as in a real
region), each as busy as an LBR gets: both hearings with a share of answers, an open
deviation and an unanswered recommendation in every row (the print test's worst case).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.config import load_config
from bot.services.app import AppContext, open_app
from bot.services.councils import get_council, list_councils, sync_councils
from bot.services.cycle import instantiate_year, year_events
from bot.services.cycle_status import mark_done
from bot.services.hearing_answers import AnswerInput, record_answer
from bot.services.hearing_lifecycle import HearingDraft, close_hearing, open_hearing
from bot.services.hearings import Actor
from bot.services.members import import_members
from bot.services.recommendations.agreeing import agree_at_meeting
from bot.services.recommendations.drafting import RecommendationDraft, create_recommendation
from bot.services.recommendations.sending import send_recommendation
from scheduler.clock import FixedClock
from storage.models import Hearing, HearingAnswer, HearingInvitee, Membership, Person
from storage.recommendations import Recommendation
from storage.results import ResultDeviation

CPH = ZoneInfo("Europe/Copenhagen")
NOW = datetime(2027, 8, 20, 9, 0, tzinfo=CPH).astimezone(UTC)
YEAR = 2027
CONFIG = """
[email]
backend = "{backend}"
host = "127.0.0.1"
port = {port}
tls = "none"
sender = "aarshjul@example.dk"
folder = "{folder}"

[[councils]]
key = "rbr-nord"
kind = "RBR"
name = "RBR Nord"
secretariat_email = "rbr-nord@example.dk"

[[councils]]
key = "rbr-syd"
kind = "RBR"
name = "RBR Syd"

[[councils]]
key = "lbr-alfa"
kind = "LBR"
name = "LBR Alfa"
region = "rbr-nord"
secretariat_email = "alfa@example.dk"

[[councils]]
key = "lbr-beta"
kind = "LBR"
name = "LBR Beta"
region = "rbr-nord"

[[councils]]
key = "lbr-gamma"
kind = "LBR"
name = "LBR Gamma"
region = "rbr-nord"

[[councils]]
key = "lbr-delta"
kind = "LBR"
name = "LBR Delta"
region = "rbr-syd"
"""
MEMBERS = """council,name,email,organisation,role,slack_id
rbr-nord,Rita Regional,rita@example.dk,DA,chair,U0RITA001
rbr-nord,Rune Sekretær,rune@example.dk,,secretary,
lbr-alfa,Anna Ærø,anna@example.dk,LO,chair,U0ANNA001
lbr-alfa,Bent Østergård,bent@example.dk,DA,member,
lbr-alfa,Cecilie Åby,cecilie@example.dk,KL,member,
lbr-alfa,Sara Sekretær,sara@example.dk,,secretary,
lbr-beta,Bo Beta,bo@example.dk,LO,member,
lbr-beta,Bodil Beta,bodil@example.dk,DA,member,
lbr-gamma,Gitte Gamma,gitte@example.dk,LO,member,
lbr-delta,Dan Delta,dan@example.dk,LO,member,
rbr-syd,Sune Syd,sune@example.dk,DA,member,
"""


#: Municipalities with long names (the widest rows), for a region of 23 LBRs.
CROWD = (
    "Ringkøbing-Skjern", "Lyngby-Taarbæk", "Frederikshavn", "Hjørring", "Brønderslev",
    "Jammerbugt", "Mariagerfjord", "Rebild", "Vesthimmerland", "Morsø", "Thisted", "Læsø",
    "Aalborg", "Ikast-Brande", "Holstebro", "Struer", "Lemvig", "Skive", "Viborg",
    "Herning", "Silkeborg", "Favrskov", "Norddjurs", "Syddjurs",
)  # fmt: skip


def crowd_keys(count: int) -> list[str]:
    return [f"lbr-x{n:02d}" for n in range(count)]


def write_config(tmp_path: Path, *, smtp_port: int | None = None, crowd: int = 0) -> Path:
    path = tmp_path / "config.toml"
    extra = "".join(
        f'\n[[councils]]\nkey = "{key}"\nkind = "LBR"\nname = "LBR {CROWD[n]}"\n'
        'region = "rbr-nord"\n'
        for n, key in enumerate(crowd_keys(crowd))
    )
    path.write_text(
        CONFIG.format(
            backend="smtp" if smtp_port else "file",
            port=smtp_port or 25,
            folder=(tmp_path / "mail").as_posix(),
        )
        + extra,
        encoding="utf-8",
    )
    return path


def _crowd_members(count: int) -> str:
    return "".join(
        f"{key},Medlem {n}-{m} Østergård,x{n}.{m}@example.dk,LO,member,\n"
        for n, key in enumerate(crowd_keys(count))
        for m in range(3)
    )


async def fill_crowd(ctx: AppContext, count: int) -> None:
    """Each added LBR: both hearings (one closed) with 2 of 3 answered, an open deviation
    and a recommendation to the region sent and not answered."""
    now = ctx.clock.now()
    async with ctx.db.transaction() as s:
        rbr = await get_council(s, "rbr-nord")
        for key in crowd_keys(count):
            council = await get_council(s, key)
            events = {e.template_key: e for e in await year_events(s, council, YEAR)}
            seats = (
                await s.exec(select(Membership).where(Membership.council_id == council.id))
            ).all()
            for subject, template_key, deadline, closed in (
                ("result_review", "result_review_hearing", date(2027, 6, 16), True),
                ("employment_plan", "employment_plan_hearing", date(2027, 8, 31), False),
            ):
                hearing = Hearing(
                    council_id=council.id,
                    title=f"{subject} {key}",
                    subject=subject,
                    deadline=deadline,
                    state="closed" if closed else "open",
                    cycle_event_id=events[template_key].id,
                    opened_by="test",
                    opened_at=now,
                    closed_at=now if closed else None,
                    created_at=now,
                    updated_at=now,
                )
                s.add(hearing)
                await s.flush()
                for i, seat in enumerate(seats):
                    s.add(HearingInvitee(hearing_id=hearing.id, person_id=seat.person_id))
                    if i < 2:
                        s.add(
                            HearingAnswer(
                                hearing_id=hearing.id,
                                person_id=seat.person_id,
                                answered_by_id=seat.person_id,
                                position="support",
                                answered_at=now,
                                created_at=now,
                                updated_at=now,
                            )
                        )
            s.add(
                ResultDeviation(
                    council_id=council.id,
                    region_id=rbr.id,
                    measure="in_work",
                    since_period="2027-05",
                    last_period="2027-07",
                    value=41.0,
                    group_mean=50.0,
                    difference=-9.0,
                    percent=-18.0,
                    periods=3,
                    threshold_kind="percent",
                    threshold=10.0,
                    state="open",
                    found_at=now,
                    updated_at=now,
                )
            )
            s.add(
                Recommendation(
                    from_council_id=council.id,
                    to_council_id=rbr.id,
                    title="Særligt fokus på de langtidsledige og de unges resultater",
                    state="sent",
                    created_by="test",
                    sent_at=now,
                    created_at=now,
                    updated_at=now,
                )
            )


async def _person(ctx: AppContext, email: str) -> Person:
    async with ctx.db.session() as s:
        found = (await s.exec(select(Person).where(Person.email == email))).one()
    return found


async def _event_id(ctx: AppContext, council_key: str, template_key: str) -> int:
    async with ctx.db.session() as s:
        council = await get_council(s, council_key)
        events = await year_events(s, council, YEAR)
    return next(e.id for e in events if e.template_key == template_key and e.id)


async def populate(ctx: AppContext, clock: FixedClock, crowd: int = 0) -> None:
    """The three LBRs' states (see the module's docstring)."""
    members = (MEMBERS + _crowd_members(crowd)).encode()
    async with ctx.db.transaction() as s:
        await sync_councils(s, ctx.config.settings.councils, now=clock.now(), actor="test")
        report = await import_members(s, members, now=clock.now(), actor="test")
        assert report.rejected == 0, report
        for council in await list_councils(s):
            await instantiate_year(
                s, council, YEAR, ctx.template, ctx.calendar, now=clock.now(), actor="t"
            )
    secretary = Actor("test")
    # The hearings are opened before their deadlines (the clock is moved back for it).
    real = clock.now()
    clock.set(datetime(2027, 6, 1, 9, 0, tzinfo=CPH).astimezone(UTC))
    ids: dict[str, int] = {}
    for key, subject, deadline in (
        ("lbr-alfa", "result_review", date(2027, 6, 16)),
        ("lbr-beta", "result_review", date(2027, 6, 16)),
    ):
        async with ctx.db.transaction() as s:
            opened = await open_hearing(
                s,
                ctx,
                secretary,
                HearingDraft(
                    council_key=key,
                    title=f"Resultatrevision 2026 ({key})",
                    deadline=deadline,
                    subject=subject,
                    cycle_event_id=await _event_id(ctx, key, "result_review_hearing"),
                ),
            )
            ids[key] = opened.hearing.id or 0
    for email in ("anna@example.dk", "bent@example.dk"):
        async with ctx.db.transaction() as s:
            await record_answer(
                s, ctx, ids["lbr-alfa"], await _person(ctx, email), AnswerInput("support")
            )
    clock.set(datetime(2027, 6, 20, 9, 0, tzinfo=CPH).astimezone(UTC))
    async with ctx.db.transaction() as s:
        await close_hearing(s, ctx, secretary, ids["lbr-alfa"])
    clock.set(datetime(2027, 8, 2, 9, 0, tzinfo=CPH).astimezone(UTC))
    async with ctx.db.transaction() as s:
        plan = await open_hearing(
            s,
            ctx,
            secretary,
            HearingDraft(
                council_key="lbr-alfa",
                title="Beskæftigelsesplan 2028",
                deadline=date(2027, 8, 31),
                subject="employment_plan",
                cycle_event_id=await _event_id(ctx, "lbr-alfa", "employment_plan_hearing"),
            ),
        )
    async with ctx.db.transaction() as s:
        await record_answer(
            s,
            ctx,
            plan.hearing.id or 0,
            await _person(ctx, "cecilie@example.dk"),
            AnswerInput("object", "For få midler til de unge."),
        )
    clock.set(datetime(2027, 8, 10, 9, 0, tzinfo=CPH).astimezone(UTC))
    draft = RecommendationDraft(
        from_key="lbr-beta",
        to="rbr-nord",
        title="Særligt fokus på de unges resultater",
        text="LBR Beta indstiller, at regionen ser på jobcentrets resultater for unge.",
    )
    created = await create_recommendation(ctx, secretary, draft)
    await agree_at_meeting(ctx, secretary, created.recommendation.id, date(2027, 8, 9))
    await send_recommendation(ctx, secretary, created.recommendation.id)
    clock.set(real)
    async with ctx.db.transaction() as s:
        await mark_done(s, ctx, "lbr-alfa", "business_plan", YEAR, actor="test")
        beta = await get_council(s, "lbr-beta")
        rbr = await get_council(s, "rbr-nord")
        s.add(
            ResultDeviation(
                council_id=beta.id,
                region_id=rbr.id,
                measure="in_work",
                since_period="2027-05",
                last_period="2027-07",
                value=41.0,
                group_mean=50.0,
                difference=-9.0,
                percent=-18.0,
                periods=3,
                threshold_kind="percent",
                threshold=10.0,
                agreed_on=date(2027, 1, 15),
                agreed_with="Beskæftigelsesregionens direktør",
                state="open",
                found_at=real,
                updated_at=real,
            )
        )


@asynccontextmanager
async def region_world(
    database_url: str,
    tmp_path: Path,
    *,
    smtp_port: int | None = None,
    crowd: int = 0,
    **environ: str,
) -> AsyncIterator[tuple[AppContext, FixedClock]]:
    write_config(tmp_path, smtp_port=smtp_port, crowd=crowd)
    config = load_config(environ={"DATABASE_URL": database_url, **environ}, cwd=tmp_path)
    clock = FixedClock(NOW)
    async with open_app(config, clock) as ctx:
        await ctx.db.upgrade()
        await populate(ctx, clock, crowd)
        if crowd:
            await fill_crowd(ctx, crowd)
        yield ctx, clock
