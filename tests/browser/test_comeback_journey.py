"""Coming back to the replies, at 390 px: A confirms her address from the mail, posts; B replies; one message
reaches A through a real SMTP server with the excerpt and a link straight to the reply; the one-click
unsubscribe works without signing in; quiet hours hold a message until morning (frozen clock)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask

from tests.browser.conftest import no_horizontal_scroll
from tests.mailsink import smtp_sink

pytestmark = pytest.mark.browser
LONDON = ZoneInfo("Europe/London")


def at(days: int, hour: int, minute: int = 0) -> datetime:
    day = datetime.now(LONDON).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


def text_of(message: Any) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def local_path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_a_reply_brings_her_back_by_mail(
    live_app: Flask, live_server: str, sign_in_page: Any, new_page: Any, tmp_path: Path
) -> None:
    from forum.notifications.mail import sender

    def deliver(now: datetime) -> Any:
        with live_app.app_context():
            return sender.deliver_due(now)

    with smtp_sink() as (sink, port):
        old = (
            live_app.config.get("MAIL_SERVER"),
            live_app.config.get("MAIL_PORT"),
            live_app.config.get("SITE_URL"),
        )
        live_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, SITE_URL=live_server)
        try:
            mum = sign_in_page("GateMum")
            dad = sign_in_page("WaveDad")
            # The confirmation mails go out at once, any hour (tomorrow morning: after whatever time it is now).
            deliver(at(1, 11))
            confirmations = {m["To"]: m for m in sink.wait_for(2)}
            for page, address in ((mum, "gatemum@example.test"), (dad, "wavedad@example.test")):
                link = re.search(r"Confirm my email: (\S+)", text_of(confirmations[address])).group(1)
                page.goto(live_server + local_path(link))
                page.wait_for_selector("text=your email is confirmed")

            mum.goto(live_server + "/stories/new")
            mum.fill("#title", "She cried at the gate")
            mum.fill(
                "#body", "Third week and she still cries at the nursery gate. I walk away feeling awful."
            )
            mum.click("text=Post story")
            mum.wait_for_selector("text=Thank you for sharing")
            story_url = mum.url.split("?")[0]

            dad.goto(story_url)
            dad.fill("#body", "Ours did exactly this until week five. A goodbye ritual helped us a lot.")
            dad.click("text=Post reply")
            dad.wait_for_selector("article.reply:has-text('goodbye ritual')")
            reply_id = dad.locator("article.reply").first.get_attribute("id")

            sink.messages.clear()
            result = deliver(at(1, 12))
            assert result.sent == 1
            (message,) = sink.wait_for(1)
            assert message["To"] == "gatemum@example.test"
            assert message["Subject"] == "WaveDad replied to your story “She cried at the gate”"
            text = text_of(message)
            assert "A goodbye ritual helped us a lot." in text
            link = re.search(r"Read the reply: (\S+)", text).group(1)
            assert link.endswith(f"#{reply_id}")

            mum.goto(link)
            mum.wait_for_selector(f"#{reply_id}")
            assert mum.evaluate("location.hash") == f"#{reply_id}"
            assert no_horizontal_scroll(mum)
            mum.screenshot(path=str(tmp_path / "reply-from-mail-phone.png"))
            mum.goto(live_server + "/")
            header = mum.locator("header.site-header").bounding_box()
            assert header["height"] < 80  # one compact row; the five places are in the bottom bar
            bar = mum.locator("nav.tabbar").bounding_box()
            assert bar["y"] + bar["height"] <= 844 and bar["height"] < 90
            if shots := __import__("os").environ.get("VILLAGE_SHOTS"):
                mum.screenshot(path=f"{shots}/home-phone.png")
                mum.goto(story_url)
                mum.screenshot(path=f"{shots}/story-phone.png")

            # Quiet hours: a reply at 22:30 her time waits until 08:00.
            dad.goto(story_url)
            dad.fill("#body", "Thinking of you tonight, tomorrow will be easier.")
            dad.click("text=Post reply")
            dad.wait_for_selector("article.reply:has-text('Thinking of you tonight')")
            sink.messages.clear()
            assert deliver(at(1, 22, 30)).sent == 0
            assert deliver(at(2, 7, 59)).sent == 0
            assert deliver(at(2, 8, 1)).sent == 1
            (morning,) = sink.wait_for(1)
            assert "Thinking of you tonight" in text_of(morning)

            # One-click unsubscribe from the mail, in a browser that is not signed in.
            visitor = new_page()
            visitor.goto(live_server + local_path(morning["List-Unsubscribe"].strip("<>")))
            visitor.click("text=Turn it off")
            visitor.wait_for_selector("text=no more of this mail")
            dad.goto(story_url)
            dad.fill("#body", "One more hug from us, you are doing well.")
            dad.click("text=Post reply")
            dad.wait_for_selector("article.reply:has-text('One more hug')")
            sink.messages.clear()
            assert deliver(at(3, 12)).sent == 0
            mum.goto(live_server + "/settings/mail")
            assert mum.locator("#kind_replies").input_value() == "off"
        finally:
            live_app.config.update(MAIL_SERVER=old[0], MAIL_PORT=old[1], SITE_URL=old[2])
