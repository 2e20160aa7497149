"""What the handlers share: turning errors into replies, and reading Slack payloads."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from bot.blocks import more_value, plain, section
from bot.i18n import error_text
from bot.observability import log_event
from bot.services.hearing_lists import councils_of
from bot.services.hearings import Actor
from bot.slack_app import SlackDeps
from bot.slack_text import SlackText, slack_t
from scheduler.errors import AarshjulError, PermissionDenied
from scheduler.model import Role
from storage.db import unavailable
from storage.models import Council, CycleEvent, Person

log = logging.getLogger("aarshjul.slack")


Listener = Callable[..., Awaitable[None]]


def shielded(deps: SlackDeps) -> Callable[[Listener], Listener]:
    """Catch what escapes a listener after its ack: log it and tell the user.

    Bolt would otherwise lose an error raised just after ``ack()`` (its runner
    then waits out the 3 seconds and answers 404), and the user would see nothing.
    """

    def wrap(listener: Listener) -> Listener:
        @functools.wraps(listener)
        async def run(**kwargs: Any) -> None:
            try:
                await listener(**kwargs)
            except Exception as exc:
                why = unavailable(exc)
                if why is None:
                    log.exception("slack listener %s failed", listener.__name__)
                else:
                    # Not a bug: one line, and the user is told nothing was saved.
                    log_event(
                        log, "database-unavailable", logging.ERROR,
                        listener=listener.__name__, why=why,
                    )  # fmt: skip
                respond = kwargs.get("respond")
                body = kwargs.get("body") or kwargs.get("command") or {}
                if respond is not None and body.get("response_url"):
                    user = body.get("user_id") or (body.get("user") or {}).get("id") or ""
                    key = "slack.unexpected" if why is None else "slack.unavailable"
                    text = slack_t(deps.language(str(user)), key)
                    await respond(text=text, response_type="ephemeral", replace_original=False)

        return run

    return wrap


def refusal(exc: AarshjulError, language: str, *, user: str, action: str) -> SlackText:
    """The reader's text for an error; refusals are logged with who and what."""
    if isinstance(exc, PermissionDenied):
        log_event(log, "refused", logging.WARNING, user=user, action=action, why=str(exc))
    return slack_t(language, "slack.error", message=error_text(exc, language, "slack"))


def unescape(text: str | None) -> str:
    """Slack sends a command's text with & < > as entities; we store what was typed."""
    return (text or "").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def words(text: str | None) -> list[str]:
    return unescape(text).split()


def selected(values: dict[str, Any], block: str) -> str | None:
    """The value of a select or radio input in a submitted view."""
    element = (values.get(block) or {}).get(block) or {}
    option = element.get("selected_option")
    if option:
        return str(option.get("value"))
    for name in ("selected_date", "selected_time", "selected_user", "value"):
        if element.get(name):
            return str(element[name])
    return None


def selected_users(values: dict[str, Any], block: str) -> list[str]:
    element = (values.get(block) or {}).get(block) or {}
    return [str(u) for u in element.get("selected_users") or []]


def mention_user(text: str) -> str | None:
    """``<@U123|name>`` or ``<@U123>`` → ``U123``."""
    if text.startswith("<@") and text.endswith(">"):
        return text[2:-1].split("|", 1)[0]
    return None


def slack_actor(person: Person, user_id: str) -> Actor:
    """The actor a Slack user acts as, named ``slack:U…`` in the audit log."""
    return Actor(f"slack:{user_id}", person)


async def reply_ephemeral(
    respond: Any, text: str, blocks: list[dict[str, Any]] | None = None
) -> None:
    """Answer a command or button through its ``response_url``, seen only by the user."""
    await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)


#: Shows one page of a list: (respond, person, language, the button's value).
PageShower = Callable[[Any, Person, str, dict[str, Any]], Awaitable[None]]


def register_more_button(app: Any, deps: SlackDeps, action_id: str, show: PageShower) -> None:
    """Handle the "vis flere" button of a paged list (``/hearing list``, ``/seminar list``).

    Acknowledges at once, identifies the user and lets ``show`` answer with the page the
    button's value names, as a new ephemeral reply; one handler for every list, so each
    refuses an unknown person and a bad value the same way.
    """

    @app.action(action_id)
    @shielded(deps)
    async def more(ack: Any, body: dict[str, Any], action: dict[str, Any], respond: Any) -> None:
        await ack()
        user = body["user"]["id"]
        person = await deps.person(user)
        lang = deps.language(user, person)
        if person is None:
            text = slack_t(
                lang, "slack.error", message=slack_t(lang, "hearing.error.unknown_person")
            )
        else:
            try:
                await show(respond, person, lang, more_value(action))
                return
            except AarshjulError as exc:
                text = refusal(exc, lang, user=user, action=action_id)
        await respond(text=text, response_type="ephemeral", replace_original=False)


async def show_error_modal(
    deps: SlackDeps,
    trigger_id: str,
    lang: str,
    text: SlackText,
    *,
    title_key: str = "hearing.modal.answer.title",
) -> None:
    """A modal that only says why the form cannot open (the trigger dies after 3 s)."""
    await deps.client.views_open(
        trigger_id=trigger_id,
        view={
            "type": "modal",
            "title": plain(slack_t(lang, title_key), 24),
            "close": plain(slack_t(lang, "slack.ok"), 24),
            "blocks": [section(text)],
        },
    )


@dataclass(frozen=True)
class PromptTarget:
    """The cycle event a prompt's button names, and the secretary who pressed it."""

    lang: str
    event: CycleEvent
    council: Council
    #: The councils the user is secretary of (the form offers these).
    councils: list[Council]


async def prompt_target(
    deps: SlackDeps, body: dict[str, Any], action: dict[str, Any], *, title_key: str
) -> PromptTarget | None:
    """What an "Åbn høring" / "Opret møde" prompt button opens the form for; None (the
    refusal already shown in a modal) unless the user is a secretary of its council."""
    user = body["user"]["id"]
    person = await deps.person(user)
    lang = deps.language(user, person)
    async with deps.ctx.db.session() as session:
        event = await session.get(CycleEvent, int(action.get("value") or 0))
        councils = await councils_of(session, person, [Role.SECRETARY]) if person else []
    council = next((c for c in councils if event and c.id == event.council_id), None)
    if event is None or council is None:
        text = slack_t(lang, "slack.error", message=slack_t(lang, "slack.hearing.no_councils"))
        await show_error_modal(deps, body["trigger_id"], lang, text, title_key=title_key)
        return None
    return PromptTarget(lang, event, council, councils)
