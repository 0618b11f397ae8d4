"""The read-only JSON API: shapes, filters, cursors, and nothing that may not be seen."""

from __future__ import annotations

import pytest

from forum.extensions import db
from forum.models import Status
from forum.stories import services


def test_list_and_detail_shapes(client, member, other_member):
    story = services.publish_story(
        member,
        title="First week",
        body="A hard first week at nursery for us both.",
        tags="nursery, firstweek",
        setting="nursery",
        age_band="1-2",
    )
    reply = services.add_reply(other_member, story, body="It gets easier, I promise you.")
    services.toggle_reaction(other_member, kind="hugs", story=story)
    services.toggle_reaction(member, kind="me-too", reply=reply)
    services.add_update(member, story, body="Better now, he waves goodbye.", outcome="better")
    listing = client.get("/api/stories").get_json()
    assert listing["next_cursor"] is None
    (item,) = listing["stories"]
    assert (
        item["id"] == story.id
        and item["tags"] == ["firstweek", "nursery"]
        and item["author"] == member.pseudonym
    )
    assert item["reply_count"] == 1 and item["latest_outcome"] == "better"
    detail = client.get(f"/api/stories/{story.id}").get_json()
    assert detail["reactions"] == {"hugs": 1}
    assert detail["replies"][0]["reactions"] == {"me-too": 1}
    assert detail["updates"][0]["outcome"] == "better"
    assert detail["body"].startswith("A hard first week")


def test_filters_and_cursor(client, member):
    for i in range(25):
        services.publish_story(
            member,
            title=f"Story {i}",
            body=f"Body of story number {i} at nursery.",
            tags="sleep" if i % 2 else "food",
            setting="school" if i < 5 else None,
        )
    first = client.get("/api/stories").get_json()
    assert len(first["stories"]) == 20 and first["next_cursor"]
    second = client.get(f"/api/stories?cursor={first['next_cursor']}").get_json()
    assert len(second["stories"]) == 5 and second["next_cursor"] is None
    assert {s["id"] for s in first["stories"]}.isdisjoint({s["id"] for s in second["stories"]})
    assert all("sleep" in s["tags"] for s in client.get("/api/stories?tag=SLEEP").get_json()["stories"])
    assert len(client.get("/api/stories?setting=school").get_json()["stories"]) == 5


def test_anonymous_author_never_in_json(client, member, other_member):
    story = services.publish_story(
        member, title="Private", body="Something I'd rather share anonymously here.", anonymous=True
    )
    services.add_reply(member, story, body="Thank you all for the kind replies.")
    raw = client.get(f"/api/stories/{story.id}").get_data(as_text=True) + client.get("/api/stories").get_data(
        as_text=True
    )
    assert member.pseudonym not in raw and str(member.email) not in raw
    assert client.get(f"/api/stories/{story.id}").get_json()["author"] == "Anonymous parent"


@pytest.mark.parametrize("status", [Status.HIDDEN, Status.REMOVED, Status.DELETED, Status.PENDING])
def test_unpublished_stories_are_404_and_unlisted(client, member, status):
    story = services.publish_story(
        member, title="Not public", body="This one should not be visible in the API."
    )
    story.status = status.value
    db.session.commit()
    response = client.get(f"/api/stories/{story.id}")
    assert response.status_code == 404 and response.get_json()["error"]
    assert client.get("/api/stories").get_json()["stories"] == []


def test_unknown_ids_and_bad_input(client):
    assert client.get("/api/stories/999999").status_code == 404
    assert client.get("/api/stories/not-a-number").status_code == 404
    assert client.get("/api/stories?cursor=%%%&setting=<script>").status_code == 200
    assert client.get("/api/nothing").get_json()["error"]
