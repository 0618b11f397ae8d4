"""Every moderator and admin URL refuses visitors and members, by GET and by forged POST, and changes nothing.

The URLs come from the app's own routing table, so a staff page added later is covered without editing this.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import Flask

from forum.extensions import db
from forum.models import AuditEntry, Status, Story, User
from tests.factories import make_story, make_user, signed_in_client

STAFF_PREFIXES = ("/moderation", "/admin")
# Staff pages that only admins may use; every other staff page is for moderators and admins.
ADMIN_ONLY_PREFIXES = ("/admin", "/moderation/team")


def staff_rules(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, rule, method) for every staff route and method."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(STAFF_PREFIXES):
            for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
                found.append((rule.endpoint, rule.rule, method))
    return sorted(found)


def concrete_url(rule: str, story: Story, member: User) -> str:
    """The rule with real ids in it, so a refusal cannot be a mere 404 for a missing item."""
    return (
        rule.replace("<kind>", "story")
        .replace("<int:item_id>", str(story.id))
        .replace("<int:story_id>", str(story.id))
        .replace("<int:user_id>", str(member.id))
        .replace("<int:appeal_id>", "1")
        .replace("<int:word_id>", "1")
        .replace("<int:resource_id>", "1")
        .replace("<int:phrase_id>", "1")
    )


FORGED_FORM = {
    "action": "remove",
    "reason": "spam",
    "role": "admin",
    "pseudonym": "Victim",
    "word": "hello",
    "days": "7",
    "title": "Changed by an attacker",
    "tags": "attack",
    "items": "story:1",
    "body": "attacker note",
    "phrase": "attacker phrase",
    "form": "settings",
}


def test_the_staff_routes_are_found(app: Flask) -> None:
    endpoints = {endpoint for endpoint, _, _ in staff_rules(app)}
    # A guard against this module silently testing nothing.
    assert {
        "moderation.queue",
        "moderation.act",
        "moderation.team",
        "care.admin",
        "moderation.reveal",
    } <= endpoints


@pytest.mark.parametrize("who", ["visitor", "member", "moderator"])
def test_staff_routes_refuse_the_wrong_people_and_change_nothing(app: Flask, who: str) -> None:
    author = make_user(pseudonym="Victim")
    story = make_story(author, title="Hard morning", anonymous=True)
    if who == "visitor":
        client = app.test_client()
    else:
        client = signed_in_client(app, make_user(pseudonym="Actor", role=who))
    checked = 0
    for endpoint, rule, method in staff_rules(app):
        if who == "moderator" and not rule.startswith(ADMIN_ONLY_PREFIXES):
            continue
        url = concrete_url(rule, story, author)
        if method == "GET":
            response = client.get(url)
        else:
            response = client.open(url, method=method, data=FORGED_FORM)
        if who == "visitor":
            assert response.status_code == 302, (endpoint, method, response.status_code)
            assert "/login" in response.headers["Location"], (endpoint, method)
        else:
            assert response.status_code == 403, (endpoint, method, response.status_code)
        checked += 1
    assert checked >= (4 if who == "moderator" else 15)
    db.session.expire_all()
    assert db.session.get(Story, story.id).status == Status.PUBLISHED.value
    assert db.session.get(Story, story.id).title == "Hard morning"
    assert db.session.get(User, author.id).role == "member"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0
