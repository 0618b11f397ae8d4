"""Offline at 390 px: a story sent without a connection is kept on the phone, the page says so plainly, and it
is posted exactly once when the connection returns; the service worker serves the offline page."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from forum.extensions import db
from forum.models import Story

pytestmark = pytest.mark.browser
BODY = "Wrote this on the train with no signal: he finally slept through the night after six weeks of waking."


def stories_with_body(live_app: Flask) -> int:
    with live_app.app_context():
        return int(
            db.session.scalar(sa.select(sa.func.count()).select_from(Story).where(Story.body == BODY)) or 0
        )


def test_a_story_written_offline_is_posted_once_when_back_online(
    live_app: Flask, live_server: str, sign_in_page: Any
) -> None:
    mum = sign_in_page("TrainMum")
    mum.goto(live_server + "/stories/new")
    mum.context.set_offline(True)
    mum.fill("#title", "Slept through")
    mum.fill("#body", BODY)
    mum.click("text=Post story")
    mum.wait_for_selector("#offline-status:has-text('saved on this phone')")
    assert "will be posted by itself when you're back online" in mum.inner_text("#offline-status")
    assert stories_with_body(live_app) == 0
    queued = mum.evaluate("Object.keys(localStorage).filter(k => k.endsWith(':outbox')).length")
    assert queued == 1
    mum.click("text=Post story")  # an impatient second tap while still offline: still one item
    assert (
        mum.evaluate(
            "JSON.parse(localStorage.getItem(Object.keys(localStorage).find(k => k.endsWith(':outbox'))))"
            ".length"
        )
        == 1
    )

    mum.context.set_offline(False)
    mum.wait_for_selector("#offline-status:has-text('is posted')", timeout=15_000)
    assert stories_with_body(live_app) == 1
    assert mum.evaluate("Object.keys(localStorage).filter(k => k.endsWith(':outbox')).length") == 0
    mum.click("#offline-status a")
    mum.wait_for_selector("h1:has-text('Slept through')")
    # Coming back later (another 'online', a reload) never posts it again.
    mum.goto(live_server + "/stories/new")
    mum.evaluate("window.dispatchEvent(new Event('online'))")
    mum.wait_for_timeout(500)
    assert stories_with_body(live_app) == 1


def test_the_service_worker_shows_the_offline_page(live_server: str, sign_in_page: Any) -> None:
    page = sign_in_page("OfflineDad")
    page.goto(live_server + "/")
    assert page.evaluate("navigator.serviceWorker.ready.then(() => true)")  # installed, shell cached
    page.reload()  # now controlled by the worker
    page.context.set_offline(True)
    page.goto(live_server + "/tags")
    page.wait_for_selector('h1:has-text("You\'re offline")')
