"""Reply helpers at 390 px: a prompt chip starts the reply with its words; Quote takes the selection (or the
first paragraph) with "NAME wrote:"."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

pytestmark = pytest.mark.browser


def test_prompt_chips_insert_their_words_and_quotes_say_who_wrote(
    live_app: Flask, live_server: str, sign_in_page: Any
) -> None:
    from tests import factories

    with live_app.app_context():
        story = factories.make_story(
            factories.make_user(pseudonym="ChipMum"),
            title="Chips",
            body="First paragraph about the morning.\n\nSecond paragraph about the evening.",
        )
        story_id = story.id
    page = sign_in_page("ChipDad")
    page.goto(f"{live_server}/stories/{story_id}")
    page.click("button.chip:has-text('What helped you?')")
    assert page.input_value("#body") == "What helped me was "
    page.fill("#body", "")
    page.click("#story .item-actions a[data-quote=story]")
    assert page.input_value("#body") == "ChipMum wrote:\n> First paragraph about the morning.\n\n"
    page.fill("#body", "")
    page.evaluate(
        """() => { const p = document.querySelectorAll('#story [data-quote-source] p')[1];
                   const r = document.createRange(); r.selectNodeContents(p);
                   const s = getSelection(); s.removeAllRanges(); s.addRange(r); }"""
    )
    page.click("#story .item-actions a[data-quote=story]")
    assert page.input_value("#body") == "ChipMum wrote:\n> Second paragraph about the evening.\n\n"
