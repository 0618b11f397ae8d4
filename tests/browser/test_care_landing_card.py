"""A story only the classifier flags: its check runs in a background job after the writer has landed on her
story, and the support card appears there without a reload, near the top, in a polite live region (390 px)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from forum.care import services as care_services
from forum.care.detector import CareResult
from forum.extensions import db
from forum.jobs.worker import work_due
from tests.browser.conftest import PHONE

pytestmark = pytest.mark.browser
QUIET = "Another night awake with the baby. Everything feels grey and heavy and I don't talk to anyone now."


def test_the_card_reaches_the_landing_page_once_the_job_has_run(
    live_app: Any, live_server: str, sign_in_page: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(live_app.config, "CARE_CHECK_ON_WRITE", True)
    monkeypatch.setitem(live_app.config, "JOBS_INLINE", False)
    # A stand-in for the classifier: it flags this text, which no reviewed phrase does.
    monkeypatch.setattr(care_services, "check", lambda text: CareResult("grey and heavy" in text, 0.7, []))
    page = sign_in_page("GreyMorningMum", PHONE)
    assert page.viewport_size["width"] == 390
    page.goto(f"{live_server}/stories/new")
    page.fill("#title", "Grey")
    page.fill("#body", QUIET)
    page.get_by_role("button", name="Post story").click()
    page.wait_for_url(re.compile(r"/stories/\d+\?posted=1"))
    region = page.locator("[data-care-watch]")
    assert region.get_attribute("role") == "status" and region.get_attribute("aria-live") == "polite"
    assert page.locator("aside.care-card").count() == 0
    page.evaluate("window.__sameLoad = true")

    with live_app.app_context():
        assert work_due().done >= 1
        db.session.remove()

    card = page.wait_for_selector(
        "[data-care-watch] aside.care-card >> text=You don't have to face this alone", timeout=20_000
    )
    assert page.evaluate("window.__sameLoad") is True, "no reload"
    box = card.bounding_box()
    assert box is not None and 0 <= box["y"] < 844 and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert box["y"] < page.locator("#story").bounding_box()["y"], "above her story, where she is looking"
