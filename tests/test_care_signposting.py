"""Gentle signposting through HTTP: the card for the writer alone, counted without text; resources; admin pages."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from forum.extensions import db
from forum.models import CareCard, CarePhrase, Flag, SignpostShown, SupportResource
from forum.stories import services
from tests.factories import signed_in_client

CRISIS = "Since the baby came I feel nothing. I keep thinking they'd be better off without me."
ORDINARY = (
    "He cried at nursery again today and I felt like the worst mum in the world, but he was fine by lunch."
)
CARD_TEXT = "have to face this alone"


@pytest.fixture(autouse=True)
def care_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "CARE_CHECK_ON_WRITE", True)


def test_card_shows_to_the_writer_only_and_counts_without_text(app, client, member, other_member, moderator):
    story = services.publish_story(member, title="Hard", body=CRISIS)
    writer_page = signed_in_client(app, member).get(f"/stories/{story.id}").get_data(as_text=True)
    assert CARD_TEXT in writer_page and "Samaritans" in writer_page
    for viewer in (signed_in_client(app, other_member), signed_in_client(app, moderator), client):
        assert CARD_TEXT not in viewer.get(f"/stories/{story.id}").get_data(as_text=True)
    assert "Samaritans" not in client.get(f"/api/stories/{story.id}").get_data(as_text=True)
    shown = db.session.scalars(sa.select(SignpostShown)).all()
    assert [s.place for s in shown] == ["story"]
    assert not hasattr(SignpostShown, "text") and not hasattr(CareCard, "text")


def test_writer_can_close_the_card(app, member):
    story = services.publish_story(member, title="Hard", body=CRISIS)
    writer = signed_in_client(app, member)
    card = db.session.scalar(sa.select(CareCard))
    writer.post(f"/care/cards/{card.id}/dismiss", data={"next": f"/stories/{story.id}"})
    assert CARD_TEXT not in writer.get(f"/stories/{story.id}").get_data(as_text=True)


def test_ordinary_hard_morning_gets_no_card(app, member):
    story = services.publish_story(member, title="Drop-off", body=ORDINARY)
    assert CARD_TEXT not in signed_in_client(app, member).get(f"/stories/{story.id}").get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SignpostShown)) == 0


def test_match_adds_welfare_report_unless_switched_off(app, member, admin):
    services.publish_story(member, title="Hard", body=CRISIS)
    flag = db.session.scalar(sa.select(Flag))
    assert flag.reason == "at-risk" and flag.reporter_id is None
    signed_in_client(app, admin).post(
        "/admin/care", data={"form": "settings"}
    )  # checkbox left empty: switch off
    services.publish_story(member, title="Hard again", body=CRISIS + " Still.")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Flag)) == 1


def test_compose_check_answers_without_storing_text(app, member):
    writer = signed_in_client(app, member)
    yes = writer.post("/care/check", json={"text": CRISIS}).get_json()
    no = writer.post("/care/check", json={"text": ORDINARY}).get_json()
    assert yes["signpost"] is True and CARD_TEXT in yes["html"] and no == {"signpost": False}
    assert writer.post("/care/check", json={"text": 5}).status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SignpostShown)) == 1


def test_compose_check_needs_sign_in(client):
    assert client.post("/care/check", json={"text": CRISIS}).status_code == 302


def test_support_page_lists_defaults_marked_for_checking(app, client, admin):
    html = client.get("/support").get_data(as_text=True)
    for name in (
        "Samaritans",
        "NHS 111",
        "PANDAS Foundation",
        "Family Lives",
        "988",
        "Postpartum Support International",
    ):
        assert name in html
    admin_page = signed_in_client(app, admin).get("/admin/care").get_data(as_text=True)
    assert "needs a check before launch" in admin_page


def test_admin_edits_resources_and_phrases(app, admin, member):
    client = signed_in_client(app, admin)
    client.get("/admin/care")
    resource = db.session.scalar(sa.select(SupportResource).where(SupportResource.name == "Samaritans"))
    client.post(
        f"/admin/care/resources/{resource.id}",
        data={"name": "Samaritans", "phone": "116 123", "region": "UK", "hours": "Always", "checked": "y"},
    )
    db.session.expire_all()
    assert db.session.get(SupportResource, resource.id).needs_check is False
    client.post(
        "/admin/care/resources",
        data={"new-name": "Local helpline", "new-region": "UK", "new-phone": "0800 000"},
    )
    assert "Local helpline" in app.test_client().get("/support").get_data(as_text=True)
    client.post("/admin/care/phrases", data={"phrase": "walk into the sea"})
    assert db.session.scalar(sa.select(CarePhrase.phrase)) == "walk into the sea"
    result = signed_in_client(app, member).post(
        "/care/check", json={"text": "Some nights I just want to walk into the sea."}
    )
    assert result.get_json()["signpost"] is True


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/admin/care"),
        ("post", "/admin/care/phrases"),
        ("post", "/admin/care/resources"),
        ("post", "/admin/care/resources/1/delete"),
    ],
)
def test_care_admin_is_admin_only(app, client, member, moderator, method, url):
    assert getattr(client, method)(url).status_code == 302
    for user in (member, moderator):
        assert getattr(signed_in_client(app, user), method)(url, data={"phrase": "x y z"}).status_code == 403


def test_care_check_command(runner):
    result = runner.invoke(args=["care", "check"], input=f"{CRISIS}\n{ORDINARY}\n")
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert [line["signpost"] for line in lines] == [True, False]
    assert lines[0]["reasons"]


def test_care_check_command_idiom_with_a_joke_gets_no_card(runner):
    result = runner.invoke(args=["care", "check"], input="this is killing me, lol\n")
    assert json.loads(result.output)["signpost"] is False


def test_welfare_message_uses_admin_resources(app, moderator, member):
    from forum.moderation.services import support_resources

    assert any("Samaritans" in line for line in support_resources())


def test_reply_writer_sees_the_card_on_that_story_and_nobody_else_does(app, member, other_member):
    story = services.publish_story(
        other_member, title="Ordinary", body="An ordinary hard morning at nursery today."
    )
    services.add_reply(member, story, body=CRISIS)
    assert CARD_TEXT in signed_in_client(app, member).get(f"/stories/{story.id}").get_data(as_text=True)
    assert CARD_TEXT not in signed_in_client(app, other_member).get(f"/stories/{story.id}").get_data(
        as_text=True
    )


def test_a_card_from_the_classifier_alone_reaches_the_writer_but_not_the_moderators(app, member, monkeypatch):
    """The card is tuned for recall; the welfare queue only takes texts where a reviewed phrase fired."""
    from forum.care import services as care_services
    from forum.care.detector import CareResult

    monkeypatch.setattr(care_services, "check", lambda text: CareResult(True, 0.7, ["classifier"]))
    quiet = services.publish_story(member, title="Tired", body=ORDINARY)
    assert db.session.scalar(sa.select(CareCard.id).where(CareCard.story_id == quiet.id)) is not None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Flag)) == 0
    monkeypatch.setattr(
        care_services, "check", lambda text: CareResult(True, 0.95, ["phrase"], phrase_hit=True)
    )
    services.publish_story(member, title="Hard", body=ORDINARY + " Again.")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Flag)) == 1
