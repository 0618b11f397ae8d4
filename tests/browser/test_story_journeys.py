"""Story journeys in headless Chromium at phone size: post with hashtags, survive an expired token, reply, react, update."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from werkzeug.serving import make_server

from forum import create_app
from forum import config as forum_config
from forum.extensions import db

pytestmark = pytest.mark.browser
playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-dev-shm-usage"]
PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True}
BODY = "Left him sobbing at nursery this morning. I cried in the car park. #nurseryguilt #dropoffguilt #mum#mumlife"


@pytest.fixture(scope="module")
def story_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Flask, str]]:
    """The app with CSRF on, served from a thread on a free port, with its own SQLite file."""
    tmp = tmp_path_factory.mktemp("story-site")
    site = create_app(forum_config.TestConfig(instance_path=tmp, SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp / 'site.db'}",
                                 WTF_CSRF_ENABLED=True))
    with site.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, site, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield site, f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    with site.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def signed_in_page(site: Flask, base: str, chromium: object, pseudonym: str) -> object:
    """A phone-size page signed in as a new member (via a server-side login session cookie)."""
    from forum.auth.sessions import start_session
    from tests import factories

    with site.app_context():
        user = factories.make_user(pseudonym=pseudonym)
        token = start_session(user, "browser test")
        db.session.commit()
        cookie = site.session_interface.get_signing_serializer(site).dumps({"_user_id": token, "_fresh": True})
    context = chromium.new_context(**PHONE)  # type: ignore[attr-defined]
    context.add_cookies([{"name": site.config["SESSION_COOKIE_NAME"], "value": cookie, "url": base}])
    return context.new_page()


def no_horizontal_scroll(page: object) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # type: ignore[attr-defined]


def test_post_with_hashtags_after_an_expired_token_then_reply_react_and_update(
        story_site: tuple[Flask, str], chromium: object, tmp_path: Path) -> None:
    site, base = story_site
    mum = signed_in_page(site, base, chromium, "CarParkMum")
    mum.goto(base + "/stories/new")
    assert no_horizontal_scroll(mum)
    mum.fill("#title", "First week at nursery")
    mum.fill("#body", BODY)
    mum.fill("#tags", "toddler")
    # The security token expires while she writes: nothing she typed may be lost.
    mum.evaluate("document.querySelector('form.story-form input[name=csrf_token]').value = 'expired'")
    mum.click("text=Post story")
    mum.wait_for_selector("text=security check expired")
    assert mum.input_value("#body") == BODY and mum.input_value("#title") == "First week at nursery"
    mum.click("text=Post story")
    mum.wait_for_selector("text=Thank you for sharing")
    for tag in ("nurseryguilt", "dropoffguilt", "mum", "mumlife", "toddler"):
        assert mum.locator(f"a.tag[href='/tags/{tag}']").count() == 1
    assert mum.evaluate("localStorage.getItem('village:draft:story')") is None
    story_url = mum.url.split("?")[0]

    dad = signed_in_page(site, base, chromium, "BeenThereDad")
    dad.goto(story_url)
    dad.click("button.chip:has-text('What helped you?')")
    dad.type("#body", "a very short goodbye and a wave at the window.")
    dad.click("text=Post reply")
    dad.wait_for_selector("article.reply:has-text('a very short goodbye')")
    assert no_horizontal_scroll(dad)

    # Reacting with JavaScript: the count changes without a page load.
    dad.evaluate("window.__sameDocument = true")
    dad.click("#reactions-story-1 button[data-kind=hugs]")
    dad.wait_for_selector("#reactions-story-1 button[data-kind=hugs][aria-pressed=true]")
    assert dad.evaluate("window.__sameDocument") is True
    assert dad.locator("#reactions-story-1").inner_text().count("1 parent sent hugs") == 1

    mum.goto(story_url)
    mum.click("text=Add an update")
    mum.check("text=Still hard")
    mum.fill("#body", "Two weeks on, mornings are still hard, but he smiles at pick-up.")
    mum.click("text=Add update")
    mum.wait_for_selector(".update .outcome-badge:has-text('Still hard')")
    mum.screenshot(path=str(tmp_path / "story-phone.png"), full_page=True)
    assert no_horizontal_scroll(mum)
