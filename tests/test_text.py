"""Text cleaning, the safe Markdown subset, and tag parsing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forum.errors import ValidationFailed
from forum.text import (
    clean_text,
    extract_hashtags,
    normalise_tag,
    parse_tags,
    quote_markdown,
    render_markdown,
)


def test_glued_hashtags_are_split() -> None:
    assert extract_hashtags("#nurseryguilt #dropoffguilt #mum#mumlife") == [
        "nurseryguilt",
        "dropoffguilt",
        "mum",
        "mumlife",
    ]


def test_hashtags_ignore_urls_numbers_and_entities() -> None:
    text = "see https://example.com/page#section and issue #12 and &#39; but #Real"
    assert extract_hashtags(text) == ["Real"]


@pytest.mark.parametrize(
    "raw, tag",
    [
        ("#Drop-Off", "dropoff"),
        ("NURSERY", "nursery"),
        ("Café", "café"),
        ("ｆｕｌｌｗｉｄｔｈ", "fullwidth"),
        ("مدرسة", "مدرسة"),
        ("snake_case", "snakecase"),
    ],
)
def test_tags_are_normalised(raw: str, tag: str) -> None:
    assert normalise_tag(raw) == tag


def test_typed_tags_and_body_hashtags_merge_without_duplicates() -> None:
    assert parse_tags("nursery, #Dropoff guilt", "Today #dropoff #Nursery #mum#mumlife") == [
        "nursery",
        "dropoff",
        "guilt",
        "mum",
        "mumlife",
    ]


def test_too_many_tags_is_a_clear_message() -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_tags("one two three four five six", "#seven #eight #nine")
    assert caught.value.errors[0][0] == "tags"
    assert "at most 8" in caught.value.message and "9" in caught.value.message


@pytest.mark.parametrize("typed", ["a", "x" * 31, "!!"])
def test_typed_tags_out_of_bounds_are_refused(typed: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_tags(typed)
    assert "2–30 letters or numbers" in caught.value.message


def test_short_body_hashtags_are_left_as_text() -> None:
    assert parse_tags("", "#a and #" + "y" * 31) == []


@pytest.mark.parametrize(
    "source, forbidden",
    [
        ("<script>alert(1)</script>", "<script"),
        ("[click](javascript:alert(1))", 'href="javascript'),
        ("[x](JaVaScRiPt:alert(1))", "href"),
        ("<img src=x onerror=alert(1)>", "<img"),
        ("![pic](https://example.com/a.png)", "<img"),
        ("<a href='https://x'>raw</a>", "<a "),
        ("[x](data:text/html;base64,PHNjcmlwdD4=)", 'href="data'),
        ("# Heading", "<h1"),
        ("    code block", "<pre"),
        ('<div style="x">hi</div>', "<div"),
    ],
)
def test_dangerous_or_unsupported_markup_is_neutralised(source: str, forbidden: str) -> None:
    assert forbidden not in render_markdown(source).lower()


def test_supported_markdown_renders_with_safe_links() -> None:
    html = render_markdown("*soft* **strong**\n\n- one\n- two\n\n> quoted\n\n[site](https://example.com)")
    assert "<em>soft</em>" in html and "<strong>strong</strong>" in html
    assert "<ul>" in html and "<blockquote>" in html
    assert '<a href="https://example.com" rel="nofollow ugc noopener">site</a>' in html


def test_clean_text_strips_controls_but_keeps_odd_unicode() -> None:
    odd = "Family 👨\u200d👩\u200d👧 שלום e\u0301 \u200b\u202eabc\t"
    assert clean_text(odd) == odd
    assert clean_text("a\r\nb\rc\x00d\x07e\x85f\x9fg\ud800h") == "a\nb\ncdefgh"


@given(st.text())
def test_clean_text_never_leaves_controls(text: str) -> None:
    cleaned = clean_text(text)
    assert "\r" not in cleaned
    assert not any(ord(c) < 32 and c not in "\n\t" for c in cleaned)
    assert not any(0x7F <= ord(c) <= 0x9F or 0xD800 <= ord(c) <= 0xDFFF for c in cleaned)


@given(st.text(max_size=300))
def test_rendered_markdown_never_contains_active_content(text: str) -> None:
    html = render_markdown(text).lower()
    assert "<script" not in html and 'href="javascript' not in html
    assert "<img" not in html and "<iframe" not in html


def test_quote_markdown() -> None:
    assert quote_markdown("line one\nline two") == "> line one\n> line two\n\n"
