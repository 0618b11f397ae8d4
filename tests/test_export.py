"""A member's export holds everything they wrote and nothing of anyone else."""

from __future__ import annotations

import re

from forum.stories import services
from tests.factories import login


def test_export_json_and_html(app, member, other_member):
    mine = services.publish_story(
        member,
        title="My secret",
        body="An anonymous story about a hard nursery morning.",
        anonymous=True,
        tags="nursery",
    )
    theirs = services.publish_story(
        other_member, title="Their story", body="Someone else's words about sleep battles."
    )
    services.add_reply(member, theirs, body="My reply with kind words for you.")
    services.add_reply(other_member, mine, body="Other member's private-ish reply text.")
    services.add_update(member, mine, body="Better now, thank you all.", outcome="better")
    services.toggle_reaction(member, kind="hugs", story=theirs)
    client = app.test_client()
    login(client, member)
    response = client.get("/settings/export.json")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    data = response.get_json()
    assert data["account"]["email"] == member.email
    assert [s["title"] for s in data["stories"]] == ["My secret"] and data["stories"][0]["anonymous"] is True
    assert data["replies"][0]["body"].startswith("My reply") and data["updates"][0]["outcome"] == "better"
    assert data["reactions_given"] == [
        {
            "kind": "hugs",
            "story_id": theirs.id,
            "reply_id": None,
            "story_title": "Their story",
            "created_at": data["reactions_given"][0]["created_at"],
        }
    ]
    raw = response.get_data(as_text=True)
    # The published title of a story she replied to names where her reply was (issue 16); its text does not.
    assert data["replies"][0]["story_title"] == "Their story"
    for foreign in (
        "Someone else's words",
        "private-ish",
        other_member.pseudonym,
        other_member.email,
    ):
        assert foreign not in raw
    html = client.get("/settings/export.html").get_data(as_text=True)
    assert "My secret" in html and other_member.pseudonym not in html and "Someone else's words" not in html
    assert 'name="viewport"' in html and "on “Their story”" in html and "on story" not in html
    since = html.split("member since ", 1)[1].split("</time>")[0].split(">", 1)[1]
    assert re.fullmatch(r"\d{1,2} [A-Z][a-z]+ \d{4}, \d\d:\d\d UTC", since)  # readable, not ISO


def test_export_needs_sign_in(client):
    assert client.get("/settings/export.json").status_code == 302


def test_export_holds_her_answers_on_similar_stories_and_nobody_elses(app, member, other_member):
    from forum.extensions import db
    from forum.models import SimilarSignal, Verdict

    hers = services.publish_story(member, title="Door tears", body="He cried at the nursery door again.")
    match = services.publish_story(other_member, title="Clinging", body="She clung to me at drop-off.")
    db.session.add_all(
        [
            SimilarSignal(
                user_id=member.id, source_id=hers.id, match_id=match.id, verdict=Verdict.HELPED.value
            ),
            SimilarSignal(
                user_id=other_member.id,
                source_id=match.id,
                match_id=hers.id,
                verdict=Verdict.NOT_LIKE_MINE.value,
            ),
        ]
    )
    db.session.commit()
    client = app.test_client()
    login(client, member)
    answers = client.get("/settings/export.json").get_json()["similar_answers"]
    assert [(a["answer"], a["story_title"], a["match_title"]) for a in answers] == [
        ("helped", "Door tears", "Clinging")
    ]
    html = client.get("/settings/export.html").get_data(as_text=True)
    assert "This helped: “Clinging” shown beside “Door tears”" in html and "Not like mine" not in html
