"""Accounts in a real browser, at phone and desktop sizes: register, sign out, sign in, reset a password."""

from __future__ import annotations

import re
from typing import Any

import pytest

from forum.mail import message_sent
from tests.browser.conftest import no_horizontal_scroll

pytestmark = pytest.mark.browser


def test_register_logout_login_and_reset(
    live_app: Any, live_server: str, new_page: Any, viewport: dict
) -> None:
    sent: list[Any] = []

    def record(sender: Any, message: Any, **extra: Any) -> None:
        sent.append(message)

    message_sent.connect(record, live_app)
    try:
        page = new_page(viewport)
        page.goto(live_server + "/register")
        assert no_horizontal_scroll(page)
        page.fill("#pseudonym", "Car Park Mum")
        page.fill("#email", "carpark@example.test")
        page.fill("#password", "short")
        page.click("button:has-text('Create my account')")
        page.wait_for_selector("text=Use at least 10 characters")
        assert page.input_value("#pseudonym") == "Car Park Mum"  # kept on error
        page.fill("#password", "a long password for nursery mornings")
        page.click("button:has-text('Create my account')")
        page.wait_for_selector("text=Welcome to Village, Car Park Mum")

        page.click("button:has-text('Sign out')")
        page.wait_for_selector("text=You're signed out")

        page.goto(live_server + "/login")
        page.fill("#identifier", "carpark@example.test")
        page.fill("#password", "a long password for nursery mornings")
        page.click("button:has-text('Sign in')")
        page.wait_for_selector("button:has-text('Sign out')")
        page.click("button:has-text('Sign out')")

        page.goto(live_server + "/login")
        page.click("text=Forgotten your password?")
        page.fill("#email", "carpark@example.test")
        page.click("button:has-text('Send the link')")
        page.wait_for_selector("text=Check your email")
        (message,) = sent
        link = re.search(r"http://\S+/reset/\S+", message.get_content()).group(0)
        page.goto(link)
        page.fill("#password", "another long password entirely")
        page.fill("#confirm", "another long password entirely")
        page.click("button:has-text('Save my new password')")
        page.wait_for_selector("text=Your password is changed")
        page.fill("#identifier", "Car Park Mum")
        page.fill("#password", "another long password entirely")
        page.click("button:has-text('Sign in')")
        page.wait_for_selector("button:has-text('Sign out')")
        assert no_horizontal_scroll(page)
    finally:
        message_sent.disconnect(record, live_app)
