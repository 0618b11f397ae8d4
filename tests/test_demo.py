"""Demo content: loaded only into an empty site, through the real services."""

from __future__ import annotations

import sqlalchemy as sa

from forum.extensions import db
from forum.models import Reply, Story, StoryUpdate, User


def count(model: type) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)))


def test_demo_load_into_empty_site_then_skip(runner, client):
    result = runner.invoke(args=["demo", "load", "--if-empty"])
    assert result.exit_code == 0 and "Loaded" in result.output
    stories = count(Story)
    assert stories >= 8 and count(Reply) >= 8 and count(StoryUpdate) >= 3 and count(User) >= 5
    again = runner.invoke(args=["demo", "load", "--if-empty"])
    assert again.exit_code == 0 and count(Story) == stories
    refused = runner.invoke(args=["demo", "load"])
    assert refused.exit_code != 0 and "already has stories" in refused.output
    html = client.get("/").get_data(as_text=True)
    assert "Anonymous parent" in html and "Update: better now" in html


def test_demo_members_cannot_sign_in(runner, client):
    loaded = runner.invoke(args=["demo", "load"])
    assert loaded.exit_code == 0 and "Loaded" in loaded.output
    assert db.session.scalar(sa.select(User.id).where(User.pseudonym == "Hannah B")) is not None
    response = client.post("/login", data={"identifier": "Hannah B", "password": "password123"})
    assert "don&#39;t match" in response.get_data(as_text=True)
