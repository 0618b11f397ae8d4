"""axe-core on every page issue 16 added or changed, at 390 px and at desktop size: no serious or critical
violations. Needs axe.min.js (AXE_JS, or the QA tools' npm copy under $QA_TOOLS); skipped without it.
Also: Chromium itself finds the app installable (no installability errors)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.browser.conftest import DESKTOP, PHONE

pytestmark = pytest.mark.browser


def axe_js() -> str:
    for candidate in (
        os.environ.get("AXE_JS", ""),
        os.path.join(os.environ.get("QA_TOOLS", "/tmp/qa-tools"), "node/node_modules/axe-core/axe.min.js"),
    ):
        if candidate and Path(candidate).is_file():
            return Path(candidate).read_text()
    pytest.skip("axe-core not found: set AXE_JS or run ../shared/qa/setup.sh")


def serious(page: Any, source: str) -> list[str]:
    page.add_script_tag(content=source)
    result = page.evaluate(
        """() => axe.run(document, {runOnly: {type: 'tag', values:
             ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['nodes'][0]['target']}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_new_pages_have_no_serious_accessibility_issues(
    live_app: Flask, live_server: str, sign_in_page: Any
) -> None:
    source = axe_js()
    from forum.notifications.mail import kinds as K
    from forum.notifications.mail import render as R
    from forum.stories import services
    from tests import factories

    with live_app.app_context():
        other_id = factories.make_user(pseudonym="AxeOther").id
    for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page = sign_in_page(f"Axe{name.title()}", {**size, "bypass_csp": True})  # to inject axe
        with live_app.app_context():
            from forum.extensions import db
            from forum.models import User

            me = db.session.scalar(db.select(User).where(User.pseudonym == f"Axe{name.title()}"))
            story = services.publish_story(
                me, title="Axe story", body=f"A hard morning at nursery, {name} edition.", tags="axecheck"
            )
            page.goto(f"{live_server}/stories/{story.id}")
            services.add_reply(db.session.get(User, other_id), story, body="Sending a hug, it gets easier.")
            token = R.unsubscribe_token(me.id, K.REPLIES)
            confirm = R.verify_token(me.id, me.email)
            story_id = story.id
        paths = [
            "/me",
            "/following",
            "/settings/mail",
            "/notifications",
            f"/stories/{story_id}",
            "/tags/axecheck",
            "/offline",
            f"/mail/unsubscribe/{token}",
            f"/mail/confirm/{confirm}",
            "/mail/confirm/not-a-token",
            "/",
        ]
        problems = {}
        for path in paths:
            page.goto(live_server + path)
            found = serious(page, source)
            if found:
                problems[path] = found
        assert problems == {}, f"{name}: {problems}"


def test_chromium_finds_the_app_installable(live_server: str, sign_in_page: Any) -> None:
    page = sign_in_page("InstallMum")
    page.goto(live_server + "/")
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.reload()
    cdp = page.context.new_cdp_session(page)
    errors = cdp.send("Page.getInstallabilityErrors")["installabilityErrors"]
    # Playwright's browser contexts count as incognito, where Chromium never offers to install anything.
    assert [e for e in errors if e["errorId"] != "in-incognito"] == []
    manifest = cdp.send("Page.getAppManifest")
    assert not manifest.get("errors")
