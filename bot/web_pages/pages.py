"""The routes of the web pages, mounted on the bot's one aiohttp application.

``GET /`` (your councils), ``GET /overview/{rbr}`` (a region's overview: a session of
one of its members or secretaries, or the share link's ``?token=``),
``GET /council/{key}`` (a council's year, open hearings and who has answered),
``GET /signin``, ``POST /signin/email``, ``GET /signin/link``, ``GET /signin/slack``,
``GET /signin/slack/callback`` and ``POST /signout``. Every page takes ``?lang=en``.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from functools import partial
from typing import Any, NoReturn
from urllib.parse import parse_qsl, urlencode

from aiohttp import web
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from bot.i18n import t
from bot.services.app import AppContext
from bot.web_pages import public_base_url, views
from bot.web_pages.access import Access, access_of
from bot.web_pages.session import (
    PRE_COOKIE,
    PRE_MINUTES,
    Signer,
    clear_session,
    csrf_ok,
    new_session,
    read_session,
    set_session,
)
from bot.web_pages.signin import (
    SlackSignIn,
    now_plus,
    person_for_slack,
    redeem_link,
    request_link,
    safe_next,
)

log = logging.getLogger(__name__)

#: A form body larger than this is refused before it is parsed.
MAX_FORM_BYTES = 4096
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
    "form-action 'self' https://slack.com; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def environment() -> Environment:
    return Environment(
        loader=PackageLoader("bot", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=True),
        undefined=StrictUndefined,
    )


@dataclass
class Site:
    ctx: AppContext
    signer: Signer
    env: Environment

    @property
    def slack(self) -> SlackSignIn | None:
        """Sign in with Slack, when the app's client id and secret are set."""
        found = self.ctx.config.secrets
        if not (found.slack_client_id and found.slack_client_secret):
            return None
        return SlackSignIn(
            found.slack_client_id,
            found.slack_client_secret.get_secret_value(),
            self.ctx.config.settings.web.slack_authorize_url,
            self.ctx.config.settings.slack.api_url,
        )

    @property
    def base_url(self) -> str:
        return public_base_url(self.ctx.config)

    @property
    def secure(self) -> bool:
        return self.base_url.startswith("https://")

    def language(self, request: web.Request, access: Access | None = None) -> str:
        wanted = request.query.get("lang")
        if wanted in ("da", "en"):
            return wanted
        if access is not None and access.person.language in ("da", "en"):
            return str(access.person.language)
        return self.ctx.language

    def page(
        self,
        request: web.Request,
        template: str,
        lang: str,
        title: str,
        *,
        access: Access | None = None,
        csrf: str = "",
        status: int = 200,
        **values: Any,
    ) -> web.Response:
        other = "en" if lang == "da" else "da"
        query = {**request.query, "lang": other}
        body = self.env.get_template(f"web/{template}").render(
            lang=lang,
            title=title,
            words=Words(lang),
            person=access.person.name if access else None,
            csrf=csrf,
            other_lang=other,
            other_lang_url=f"{request.path}?{urlencode(query)}",
            **values,
        )
        return web.Response(
            text=body, status=status, content_type="text/html", headers=SECURITY_HEADERS
        )


class Words:
    """``words.x`` in a template is ``web.x`` of the catalogue in the page's language."""

    def __init__(self, lang: str) -> None:
        self._lang = lang

    def __getattr__(self, name: str) -> str:
        if name.startswith("_"):
            raise AttributeError(name)
        for prefix in ("web", "overview"):
            try:
                return t(self._lang, f"{prefix}.{name}")
            except KeyError:
                continue
        raise AttributeError(name)


def add_pages(ctx: AppContext, app: web.Application) -> None:
    """Mount the pages on ``app`` (before it starts)."""
    key = ctx.config.secrets.aarshjul_web_secret
    published = bool(ctx.config.settings.web.public_url or ctx.config.secrets.slack_client_id)
    signer = Signer(key.get_secret_value().encode() if key else None, published=published)
    site = Site(ctx, signer, environment())
    app.router.add_get("/", partial(start, site))
    app.router.add_get("/overview/{rbr}", partial(overview, site))
    app.router.add_get("/council/{key}", partial(council, site))
    app.router.add_get("/council/{key}/wheel.png", partial(council_wheel_png, site))
    app.router.add_get("/signin", partial(signin_page, site))
    app.router.add_post("/signin/email", partial(signin_email, site))
    app.router.add_get("/signin/link", partial(signin_link, site))
    app.router.add_get("/signin/slack", partial(signin_slack, site))
    app.router.add_get("/signin/slack/callback", partial(slack_callback, site))
    app.router.add_post("/signout", partial(signout, site))


async def _access(site: Site, request: web.Request) -> tuple[Access | None, str]:
    found = read_session(request, site.signer, site.ctx.clock.now())
    if found is None:
        return None, ""
    async with site.ctx.db.session() as session:
        access = await access_of(session, found.person_id)
    return access, found.csrf


def _to_signin(request: web.Request) -> web.HTTPFound:
    return web.HTTPFound("/signin?" + urlencode({"next": request.path_qs}))


async def start(site: Site, request: web.Request) -> web.StreamResponse:
    access, csrf = await _access(site, request)
    if access is None:
        raise _to_signin(request)
    lang = site.language(request, access)
    links = views.start_links(access, lang)
    message = t(lang, "web.start_intro") if links else t(lang, "web.no_seats")
    return site.page(
        request,
        "message.html.j2",
        lang,
        t(lang, "web.start_title"),
        access=access,
        csrf=csrf,
        message=message,
        links=links,
        back=None,
    )


async def overview(site: Site, request: web.Request) -> web.StreamResponse:
    key = request.match_info["rbr"]
    token = request.query.get("token")
    access = None
    csrf = ""
    if token is None:
        access, csrf = await _access(site, request)
        if access is None:
            raise _to_signin(request)
    lang = site.language(request, access)
    found = await views.overview_page(site.ctx, key, lang, access=access, token=token)
    if found is None:
        # An unknown region and a wrong or old token look the same.
        raise web.HTTPNotFound(text="not found", headers=SECURITY_HEADERS)
    if found.refused:
        return _refused(site, request, lang, access, csrf)
    return site.page(
        request, "overview.html.j2", lang, found.title, access=access, csrf=csrf, **found.values
    )


async def council(site: Site, request: web.Request) -> web.StreamResponse:
    access, csrf = await _access(site, request)
    if access is None:
        raise _to_signin(request)
    lang = site.language(request, access)
    found = await views.council_page(site.ctx, request.match_info["key"], lang, access)
    if found is None:
        raise web.HTTPNotFound(text="not found", headers=SECURITY_HEADERS)
    if found.refused:
        return _refused(site, request, lang, access, csrf)
    return site.page(
        request, "council.html.j2", lang, found.title, access=access, csrf=csrf, **found.values
    )


async def council_wheel_png(site: Site, request: web.Request) -> web.StreamResponse:
    """The council's wheel for its page: the same access as the page itself."""
    access, _csrf = await _access(site, request)
    if access is None:
        raise web.HTTPNotFound(text="not found")
    lang = site.language(request, access)
    found = await views.council_page(site.ctx, request.match_info["key"], lang, access)
    if found is None or found.refused:
        raise web.HTTPNotFound(text="not found")
    from bot.services.wheel.year import council_wheel

    wheel = await council_wheel(site.ctx, request.match_info["key"], language=lang)
    return web.Response(
        body=wheel.image,
        content_type="image/png",
        headers={"Cache-Control": "private, max-age=900", "X-Content-Type-Options": "nosniff"},
    )


def _refused(
    site: Site, request: web.Request, lang: str, access: Access | None, csrf: str
) -> web.Response:
    log.info(
        "web: %s refused %s", f"person {access.person.id}" if access else "anonymous", request.path
    )
    return site.page(
        request,
        "message.html.j2",
        lang,
        t(lang, "web.start_title"),
        access=access,
        csrf=csrf,
        status=403,
        message=t(lang, "web.refused"),
        links=views.start_links(access, lang) if access else [],
        back=None,
    )


def _pre(site: Site, request: web.Request) -> dict[str, Any]:
    found = site.signer.check(PRE_COOKIE, request.cookies.get(PRE_COOKIE), site.ctx.clock.now())
    return found or {}


def _set_pre(site: Site, response: web.StreamResponse, data: dict[str, Any]) -> None:
    data = {**data, "exp": now_plus(site.ctx.clock.now(), PRE_MINUTES)}
    response.set_cookie(
        PRE_COOKIE,
        site.signer.sign(PRE_COOKIE, data),
        max_age=PRE_MINUTES * 60,
        httponly=True,
        secure=site.secure,
        samesite="Lax",
        path="/signin",
    )


async def signin_page(site: Site, request: web.Request) -> web.StreamResponse:
    lang = site.language(request)
    next_path = safe_next(request.query.get("next"))
    pre = _pre(site, request)
    csrf = str(pre.get("csrf") or secrets.token_urlsafe(24))
    slack_url = None
    if site.slack is not None:
        slack_url = "/signin/slack?" + urlencode({"next": next_path, "lang": lang})
    response = site.page(
        request,
        "signin.html.j2",
        lang,
        t(lang, "web.signin_title"),
        csrf=csrf,
        slack_url=slack_url,
        next=next_path,
    )
    _set_pre(site, response, {**pre, "csrf": csrf})
    return response


async def _form(request: web.Request) -> dict[str, str]:
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        raise web.HTTPRequestEntityTooLarge(MAX_FORM_BYTES, request.content_length)
    raw = await request.content.read(MAX_FORM_BYTES + 1)
    if len(raw) > MAX_FORM_BYTES:
        raise web.HTTPRequestEntityTooLarge(MAX_FORM_BYTES, len(raw))
    try:
        return dict(parse_qsl(raw.decode("utf-8", "replace"), max_num_fields=10))
    except ValueError:
        raise web.HTTPBadRequest(text="too many fields") from None


def _message(
    site: Site, request: web.Request, lang: str, text: str, status: int = 200
) -> web.Response:
    return site.page(
        request,
        "message.html.j2",
        lang,
        t(lang, "web.signin_title"),
        status=status,
        message=text,
        links=[],
        back={"url": f"/signin?lang={lang}", "name": t(lang, "web.back_signin")},
    )


async def signin_email(site: Site, request: web.Request) -> web.StreamResponse:
    lang = site.language(request)
    form = await _form(request)
    if not csrf_ok(str(_pre(site, request).get("csrf") or ""), form.get("csrf")):
        return _message(site, request, lang, t(lang, "web.csrf"), status=403)
    await request_link(
        site.ctx,
        form.get("email", ""),
        form.get("next", "/"),
        base_url=site.base_url,
        language=lang,
    )
    minutes = site.ctx.config.settings.web.link_minutes
    return _message(site, request, lang, t(lang, "web.email_sent", minutes=minutes))


def _signed_in(site: Site, person_id: int, to: str) -> NoReturn:
    now = site.ctx.clock.now()
    response = web.HTTPFound(safe_next(to), headers={"Cache-Control": "no-store"})
    set_session(
        response,
        site.signer,
        new_session(person_id, now, site.ctx.config.settings.web.session_hours),
        now=now,
        secure=site.secure,
    )
    response.del_cookie(PRE_COOKIE, path="/signin")
    raise response


async def signin_link(site: Site, request: web.Request) -> web.StreamResponse:
    lang = site.language(request)
    found = await redeem_link(site.ctx, request.query.get("token", ""))
    if found is None:
        return _message(site, request, lang, t(lang, "web.link_bad"), status=400)
    person_id, to = found
    log.info("web: person %s signed in with an e-mailed link", person_id)
    _signed_in(site, person_id, to)


def _redirect_uri(site: Site) -> str:
    return f"{site.base_url}/signin/slack/callback"


async def signin_slack(site: Site, request: web.Request) -> web.StreamResponse:
    if site.slack is None:
        raise web.HTTPNotFound(text="not found")
    state, nonce = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    pre = _pre(site, request)
    data = {
        **pre,
        "state": state,
        "nonce": nonce,
        "next": safe_next(request.query.get("next")),
        "lang": site.language(request),
    }
    response = web.HTTPFound(site.slack.authorize(_redirect_uri(site), state, nonce))
    _set_pre(site, response, data)
    raise response


async def slack_callback(site: Site, request: web.Request) -> web.StreamResponse:
    pre = _pre(site, request)
    lang = str(pre.get("lang") or site.language(request))
    if site.slack is None:
        raise web.HTTPNotFound(text="not found")
    code, state = request.query.get("code", ""), request.query.get("state", "")
    if not code or not csrf_ok(str(pre.get("state") or ""), state):
        return _message(site, request, lang, t(lang, "web.slack_failed"), status=400)
    info = await site.slack.identify(code, _redirect_uri(site), str(pre.get("nonce") or ""))
    if info is None:
        return _message(site, request, lang, t(lang, "web.slack_failed"), status=400)
    async with site.ctx.db.session() as session:
        person = await person_for_slack(session, info)
        access = await access_of(session, person.id) if person and person.id else None
    if person is None or person.id is None or access is None or not access.seats:
        return _message(site, request, lang, t(lang, "web.unknown_person"), status=403)
    log.info("web: person %s signed in with Slack", person.id)
    _signed_in(site, person.id, str(pre.get("next") or "/"))


async def signout(site: Site, request: web.Request) -> web.StreamResponse:
    found = read_session(request, site.signer, site.ctx.clock.now())
    form = await _form(request)
    if found is not None and not csrf_ok(found.csrf, form.get("csrf")):
        lang = site.language(request)
        return _message(site, request, lang, t(lang, "web.csrf"), status=403)
    response = web.HTTPFound("/signin", headers={"Cache-Control": "no-store"})
    clear_session(response)
    raise response
