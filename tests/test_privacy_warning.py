"""The identifying-details warning: names with settings, phone numbers and addresses; ordinary text is fine."""

from __future__ import annotations

import pytest

from forum.care.privacy import identifying_details
from forum.stories import services
from tests.factories import login


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (
            "Oliver Bennett cried all morning at Little Acorns Nursery.",
            "a full name with a nursery or school",
        ),
        ("Call me on 07700 900123 if you want to chat.", "a phone number"),
        ("We live at 14 Maple Road near the park.", "an address"),
        ("Our postcode is SW1A 1AA so we're close.", "an address"),
        ("Ring (555) 123-4567 after six.", "a phone number"),
    ],
)
def test_detects_identifying_details(text, kind):
    assert kind in identifying_details(text)


@pytest.mark.parametrize(
    "text",
    [
        "He cried at nursery again today and I cried in the car.",
        "Last Monday at Little Acorns Nursery was better.",
        "She is 2 and a half and goes three days a week.",
        "We tried 3 different things over 12 days.",
    ],
)
def test_ordinary_text_is_not_flagged(text):
    assert identifying_details(text) == []


def test_author_sees_gentle_warning_after_posting(app, member, other_member):
    story = services.publish_story(
        member, title="Named", body="Oliver Bennett cried at Little Acorns Nursery today."
    )
    author = app.test_client()
    login(author, member)
    assert "might recognise this" in author.get(f"/stories/{story.id}?posted=1").get_data(as_text=True)
    other = app.test_client()
    login(other, other_member)
    assert "might recognise this" not in other.get(f"/stories/{story.id}").get_data(as_text=True)
