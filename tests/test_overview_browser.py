"""The overview page in headless Chromium (issue 15's acceptance).

An RBR with three LBRs in different states, reached by signing in through the Slack
stand-in's OpenID endpoints and by an e-mailed link: each cell shows its state; an LBR
member sees only their council; another region is refused; axe-core finds no serious
violation; the page prints on one A4 landscape page; a screenshot is kept.
"""

from __future__ import annotations

import email
import re
from email import policy
from pathlib import Path
from typing import Any

from bot.runner import drain
from bot.services.overview.share import overview_token
from tests.browser import ARTIFACTS, axe_script, chromium, chromium_path
from tests.overview_world import region_world
from tests.servers import SlackStandIn, SmtpStandIn
from tests.test_overview import EXPECTED, serving

SECRET = "a-browser-test-secret-of-enough-length"


def _pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


async def _cells(page: Any) -> dict[str, dict[str, str]]:
    """Each row's cells as the browser shows them: {council name: {milestone: state}}."""
    return await page.evaluate(
        """() => {
          const heads = [...document.querySelectorAll('thead th')].map(th => th.textContent.trim());
          const out = {};
          for (const tr of document.querySelectorAll('tbody tr')) {
            const name = tr.querySelector('th').textContent.trim();
            out[name] = {};
            [...tr.querySelectorAll('td[data-state]')].forEach((td, i) => {
              const text = td.innerText.replace(/\\s+/g, ' ').trim();
              out[name][heads[i + 1]] = td.dataset.state + ' ' + text;
            });
          }
          return out;
        }"""
    )


async def _axe(page: Any) -> list[dict[str, Any]]:
    await page.add_script_tag(content=axe_script())
    result = await page.evaluate("async () => await axe.run(document)")
    return [v for v in result["violations"] if v["impact"] in ("serious", "critical")]


async def test_the_overview_in_chromium_signed_in_with_slack(
    database_url: str, tmp_path: Path, slack: SlackStandIn
) -> None:
    chromium_path()
    axe_script()
    environ = {
        "SLACK_API_URL": slack.base_url,
        "SLACK_CLIENT_ID": slack.oidc_client[0],
        "SLACK_CLIENT_SECRET": slack.oidc_client[1],
        "AARSHJUL_WEB_SECRET": SECRET,
    }
    async with (
        region_world(database_url, tmp_path, **environ) as (ctx, _clock),
        serving(ctx) as base,
        chromium() as browser,
    ):
        web_cfg = ctx.config.settings.web
        object.__setattr__(web_cfg, "slack_authorize_url", slack.authorize_url)
        object.__setattr__(web_cfg, "public_url", base)
        slack.oidc_next_user = {"id": "U0RITA001", "email": "rita@example.dk", "name": "Rita"}
        context = await browser.new_context(
            viewport={"width": 1280, "height": 900}, bypass_csp=True
        )
        page = await context.new_page()
        await page.goto(f"{base}/overview/rbr-nord")
        assert page.url.startswith(f"{base}/signin")
        assert "RBR Nord" not in await page.inner_text("body")  # the sign-in page, no data
        signin_serious = await _axe(page)  # the first page anyone sees is accessible too
        assert signin_serious == [], [(v["id"], v["help"]) for v in signin_serious]
        await page.get_by_role("link", name="Log ind med Slack").click()
        await page.wait_for_url(f"{base}/overview/rbr-nord")
        assert await page.title() == "Oversigt over RBR Nord 2027"
        shown = await _cells(page)
        names = {"lbr-alfa": "LBR Alfa", "lbr-beta": "LBR Beta", "lbr-gamma": "LBR Gamma"}
        assert set(shown) == set(names.values())
        words = {"done": "udført", "late": "forsinket", "open": "i gang", "coming": "kommende"}
        for key, cells in EXPECTED.items():
            row = list(shown[names[key]].values())
            for (state, day), text in zip(cells.values(), row, strict=True):
                y, m, d = day.split("-")
                assert text.startswith(f"{state} {words[state]} {d}.{m}.{y}"), (key, text)
        assert "2 af 3 har svaret" in shown["LBR Alfa"]["Resultatrevision: høring afsluttet"]
        body = await page.inner_text("body")
        assert "Særligt fokus på de unges resultater" in body and "-18,0 %" in body
        serious = await _axe(page)
        assert serious == [], [(v["id"], v["help"]) for v in serious]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = f"overview-{'pg' if 'postgresql' in database_url else 'sqlite'}"
        await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        await page.emulate_media(media="print")
        pdf = await page.pdf(format="A4", landscape=True, print_background=True)
        (ARTIFACTS / f"{name}.pdf").write_bytes(pdf)
        assert _pdf_pages(pdf) == 1
        # English, keyboard: the skip link is the first stop, and it leads to the table.
        await page.emulate_media(media="screen")
        await page.goto(f"{base}/overview/rbr-nord?lang=en")
        assert await page.title() == "Overview of RBR Nord 2027"
        await page.keyboard.press("Tab")
        focused = await page.evaluate("() => document.activeElement.textContent")
        assert focused.strip() == "Skip to content"
        assert await _axe(page) == []
        # Another region is refused, and shows none of its data.
        response = await page.goto(f"{base}/overview/rbr-syd")
        assert response is not None and response.status == 403
        assert "LBR Delta" not in await page.inner_text("body")
        # On a phone the page fits its width (the table scrolls inside its frame).
        phone = await browser.new_context(viewport={"width": 390, "height": 844})
        small = await phone.new_page()
        await small.goto(f"{base}/overview/rbr-nord?token=wrong")
        assert "LBR" not in await small.inner_text("body")
        await phone.close()
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.goto(f"{base}/overview/rbr-nord")
        overflow = await page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        await context.close()


async def test_an_lbr_member_signs_in_by_e_mail_in_chromium(
    database_url: str, tmp_path: Path, smtp: SmtpStandIn
) -> None:
    chromium_path()
    axe_script()
    async with (
        region_world(database_url, tmp_path, smtp_port=smtp.port, AARSHJUL_WEB_SECRET=SECRET) as (
            ctx,
            _clock,
        ),
        serving(ctx) as base,
        chromium() as browser,
    ):
        object.__setattr__(ctx.config.settings.web, "public_url", base)
        await drain(ctx)
        smtp.messages.clear()
        context = await browser.new_context(bypass_csp=True)
        page = await context.new_page()
        await page.goto(f"{base}/council/lbr-alfa")
        await page.get_by_label(re.compile("login-link på e-mail")).fill("bent@example.dk")
        async with page.expect_navigation():
            await page.keyboard.press("Enter")
        assert "Hvis adressen tilhører" in await page.inner_text("body")
        await drain(ctx)
        mails = [email.message_from_bytes(m.data, policy=policy.default) for m in smtp.messages]
        assert [m["To"] for m in mails] == ["bent@example.dk"]
        text = mails[0].get_body(("plain",)).get_content()
        link = re.search(r"(http://\S+/signin/link\?token=\S+)", text)
        assert link is not None
        await page.goto(link.group(1))
        await page.wait_for_url(f"{base}/council/lbr-alfa")
        body = await page.inner_text("body")
        assert "Beskæftigelsesplan 2028" in body and "Cecilie Åby" in body
        assert await _axe(page) == []
        response = await page.goto(f"{base}/overview/rbr-nord")
        assert response is not None and response.status == 403
        assert "LBR Beta" not in await page.inner_text("body")
        # On a phone, under the page's real Content-Security-Policy: the council's page
        # fits the width and its wheel is shown.
        phone = await browser.new_context(viewport={"width": 390, "height": 844})
        await phone.add_cookies(await context.cookies())
        small = await phone.new_page()
        await small.goto(f"{base}/council/lbr-alfa")
        await small.wait_for_load_state("load")
        assert "Cecilie Åby" in await small.inner_text("body")
        shape = await small.evaluate(
            """() => ({
              overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
              wheel: document.querySelector('img').naturalWidth,
              shown: document.querySelector('img').getBoundingClientRect().width,
            })"""
        )
        assert shape["overflow"] <= 0 and shape["wheel"] > 0, shape
        assert 0 < shape["shown"] <= 390, shape
        await phone.close()
        # The same link a second time opens nothing.
        other = await browser.new_context()
        again = await other.new_page()
        response = await again.goto(link.group(1))
        assert response is not None and response.status == 400
        await other.close()
        await context.close()


async def test_a_region_of_23_busy_lbrs_prints_on_one_a4_landscape_page(
    database_url: str, tmp_path: Path
) -> None:
    """A real region's size (RBR Nord has 3 + 20 LBRs here), every added row as tall as a
    row gets (answer shares, a deviation, a recommendation), in Danish and English."""
    chromium_path()
    async with (
        region_world(database_url, tmp_path, crowd=20) as (ctx, _clock),
        serving(ctx) as base,
        chromium() as browser,
    ):
        async with ctx.db.transaction() as s:
            _, token = await overview_token(s, ctx, "rbr-nord", rotate=False, actor="t")
        context = await browser.new_context(viewport={"width": 1280, "height": 900})
        page = await context.new_page()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        db = "pg" if "postgresql" in database_url else "sqlite"
        for lang in ("da", "en"):
            await page.emulate_media(media="screen")
            response = await page.goto(f"{base}/overview/rbr-nord?token={token}&lang={lang}")
            assert response is not None and response.status == 200
            assert await page.locator("tbody tr").count() == 23
            shares = await page.locator("td .share").count()
            assert shares == 2 * 20 + 3, shares  # the added rows' two hearings each
            await page.emulate_media(media="print")
            # Laid out as on the paper (297 mm less the 6 mm margins, at 96 px per inch):
            # no cell's text runs out of its cell.
            await page.set_viewport_size({"width": 1077, "height": 760})
            spilt = await page.evaluate(
                """() => [...document.querySelectorAll('th, td')]
                    .filter(c => c.scrollWidth > c.clientWidth + 1)
                    .map(c => c.innerText)"""
            )
            assert spilt == [], (lang, spilt[:3])
            pdf = await page.pdf(format="A4", landscape=True, print_background=True)
            (ARTIFACTS / f"overview-23-{lang}-{db}.pdf").write_bytes(pdf)
            assert _pdf_pages(pdf) == 1, (lang, _pdf_pages(pdf))
            await page.set_viewport_size({"width": 1280, "height": 900})
        await context.close()
