"""Page-weight budgets for a phone on one bar of signal: compressed sizes, not timings."""

from __future__ import annotations

import gzip
import re

from forum.stories import services

REPLY = (
    "We had exactly this with our eldest. The first three weeks were awful, then one morning she just waved "
    "and ran off to the sand tray. Be kind to yourself today; crying in the car is allowed. "
)


def test_story_page_with_20_replies_is_under_30_kb_compressed(client, member, other_member) -> None:
    story = services.publish_story(
        member,
        title="Sobbing at the nursery door",
        tags="nurseryguilt dropoffguilt",
        body=("He clung to my leg and screamed DON'T LEAVE ME. " * 30).strip(),
    )
    for i in range(20):
        services.add_reply(other_member, story, body=f"{REPLY * 2} ({i})")
    page = client.get(f"/stories/{story.id}", headers={"Accept-Encoding": "gzip"})
    assert page.status_code == 200 and page.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(page.data).count(b"(19)") == 1
    assert len(page.data) <= 30 * 1024, f"{len(page.data)} bytes"


def test_first_visit_css_and_js_are_under_50_kb_compressed(client, member) -> None:
    """Every stylesheet and script any page links to, compressed, counted once."""
    from tests.factories import login

    story = services.publish_story(
        member, title="A hard morning", body="Drop-off was hard again this morning."
    )
    login(client, member)
    assets: set[str] = set()
    for url in ("/", f"/stories/{story.id}", "/stories/new", "/tags", "/not-alone"):
        html = client.get(url).get_data(as_text=True)
        assets |= set(re.findall(r'(?:href|src)="(/static/[^"]+\.(?:css|js)[^"]*)"', html))
    assert any(a.endswith(".css") or ".css?" in a for a in assets)
    total = 0
    for asset in assets:
        response = client.get(asset, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        body = (
            response.data
            if response.headers.get("Content-Encoding") == "gzip"
            else gzip.compress(response.data)
        )
        total += len(body)
    assert total <= 50 * 1024, f"{total} bytes for {sorted(assets)}"


def test_pages_load_no_third_party_resources(client, member) -> None:
    story = services.publish_story(
        member, title="A hard morning", body="Drop-off was hard again this morning."
    )
    for url in ("/", f"/stories/{story.id}", "/tags", "/login"):
        html = client.get(url).get_data(as_text=True)
        assert not re.findall(r'<(?:script|link)[^>]+(?:src|href)="(?:https?:)?//', html), url
