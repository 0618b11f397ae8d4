"""You're not alone, through HTTP: the story page panel, after posting, the APIs, /not-alone and the commands."""

from __future__ import annotations

import json

import pytest

from forum.extensions import db
from forum.models import Status, Story
from forum.similar import store
from forum.stories import services
from tests.conftest import make_app
from tests.factories import login, make_user

DROP_OFF = [
    ("Clinging at the door", "My son screams don't leave me and clings to my legs every morning at nursery."),
    ("Sobbing at daycare", "My daughter sobs and holds on to me at the daycare gate when I try to go."),
    ("Tears at drop-off", "Every drop-off ends with him crying for me as the key worker carries him inside."),
]
OTHER = [
    ("Weaning", "We are stopping breastfeeding because I go back to work, and I feel sad about it."),
    ("Potty training", "Three days into potty training and there are puddles everywhere in the house."),
    ("Sleep regression", "At four months she wakes every hour and we are so tired we can't think."),
]


pytestmark = pytest.mark.usefixtures("embed_on_write")


@pytest.fixture
def site(member, other_member):
    """Drop-off stories by other_member, unrelated ones by a third member; returns the first drop-off story."""
    third = make_user(pseudonym="ThirdParent")
    stories = [services.publish_story(other_member, title=t, body=b) for t, b in DROP_OFF]
    for t, b in OTHER:
        services.publish_story(third, title=t, body=b)
    return stories


def ids(response) -> list[int]:
    return [s["id"] for s in response.get_json()["similar"]]


def test_story_api_finds_by_meaning_and_excludes_itself(client, site):
    response = client.get(f"/api/stories/{site[0].id}/similar?k=2")
    data = response.get_json()
    assert data["story"] == site[0].id and set(data["similar"][0]) == {"id", "title", "score"}
    assert set(ids(response)) == {site[1].id, site[2].id}


def test_k_is_clamped_and_unknown_story_is_404(client, site):
    assert len(ids(client.get(f"/api/stories/{site[0].id}/similar?k=999"))) == 5
    assert len(ids(client.get(f"/api/stories/{site[0].id}/similar?k=-3"))) == 1
    assert len(ids(client.get(f"/api/stories/{site[0].id}/similar?k=abc"))) == 5
    assert client.get("/api/stories/99999/similar").status_code == 404


@pytest.mark.parametrize("status", [Status.HIDDEN, Status.REMOVED, Status.DELETED, Status.PENDING])
def test_unpublished_stories_never_appear(client, site, status):
    site[1].status = status.value
    db.session.commit()
    assert site[1].id not in ids(client.get(f"/api/stories/{site[0].id}/similar"))
    assert client.get(f"/api/stories/{site[1].id}/similar").status_code == 404
    html = client.get(f"/stories/{site[0].id}").get_data(as_text=True)
    assert "Sobbing at daycare" not in html


def test_signed_in_member_never_sees_own_stories(app, site, other_member):
    viewer = app.test_client()
    login(viewer, other_member)
    query = make_user(pseudonym="Asker")
    mine = services.publish_story(query, title="Mine", body="My toddler cries at the nursery door every day.")
    assert ids(viewer.get(f"/api/stories/{mine.id}/similar")) and not (
        set(ids(viewer.get(f"/api/stories/{mine.id}/similar"))) & {s.id for s in site}
    )
    response = viewer.post("/api/similar", json={"text": "my child clings and cries at nursery drop-off"})
    assert not set(ids(response)) & {s.id for s in site}


def test_draft_api_shape_and_errors(client, site):
    response = client.post(
        "/api/similar", json={"text": "she wails and grips my coat when I leave her at daycare", "k": 2}
    )
    data = response.get_json()
    assert data["story"] is None and len(data["similar"]) == 2
    assert set(ids(response)) <= {s.id for s in site}
    assert client.post("/api/similar", data="not json", content_type="application/json").status_code == 400
    assert client.post("/api/similar", json={"text": 42}).status_code == 400
    assert client.post("/api/similar", json=["text"]).status_code == 400
    assert client.post("/api/similar", json={"text": "x" * 20001}).status_code == 400
    assert client.post("/api/similar", json={"text": "   "}).get_json()["similar"] == []


def test_draft_api_needs_csrf_in_browsers(tmp_path, db_url):
    app = make_app(tmp_path, db_url, WTF_CSRF_ENABLED=True)
    assert app.test_client().post("/api/similar", json={"text": "hello there"}).status_code == 400


def test_anonymous_stories_stay_anonymous(client, member, site):
    secret = services.publish_story(
        member, title="Quiet one", body="My son cries and clings at the nursery gate.", anonymous=True
    )
    html = client.get(f"/stories/{site[0].id}").get_data(as_text=True)
    assert "Quiet one" in html and "Anonymous parent" in html and member.pseudonym not in html
    raw = client.get(f"/api/stories/{site[0].id}/similar").get_data(as_text=True)
    assert member.pseudonym not in raw and secret.id in ids(client.get(f"/api/stories/{site[0].id}/similar"))


def test_story_page_panel_and_posted_landing(app, site, member):
    author = app.test_client()
    login(author, member)
    response = author.post(
        "/stories/new",
        data={"title": "Left him crying", "body": "He clung to me and screamed at nursery drop-off today."},
    )
    landing = author.get(response.location).get_data(as_text=True)
    assert "You're not alone." in landing.replace("&#39;", "'")
    assert landing.index("Thank you for sharing") < landing.index("Clinging at the door")
    page = app.test_client().get(f"/stories/{site[0].id}").get_data(as_text=True).replace("&#39;", "'")
    assert "You're not alone" in page and "shared something similar" in page


def test_not_alone_feed_for_member_and_visitor(app, client, site, member):
    services.publish_story(
        member, title="My morning", body="My girl cried and wouldn't let go of me at nursery."
    )
    signed_in = app.test_client()
    login(signed_in, member)
    html = signed_in.get("/not-alone").get_data(as_text=True)
    assert "Clinging at the door" in html and "My morning" not in html
    visitor = client.get("/not-alone?q=my+boy+cries+when+I+leave+him+at+nursery").get_data(as_text=True)
    assert "Sobbing at daycare" in visitor
    assert "What happened today?" in client.get("/not-alone").get_data(as_text=True)


def test_index_in_other_worker_learns_new_stories(app, site):
    index = store.worker_index()
    index.refresh(force=True)
    before = len(index.index)
    late = make_user(pseudonym="LateWriter")
    story = services.publish_story(
        late, title="New one", body="Another nursery drop-off with tears and clinging."
    )
    app.extensions.pop("similar_index")  # as if another worker: it only knows what the database says
    other = store.worker_index()
    other.refresh(force=True)
    assert len(other.index) == before + 1 and story.id in other.index


def test_import_and_rebuild_commands(runner, tmp_path):
    data = tmp_path / "stories.jsonl"
    data.write_text(
        "\n".join(
            [
                json.dumps(
                    {
                        "id": "s1",
                        "title": "Drop-off",
                        "body": "He cried at nursery and clung to me all the way.",
                        "tags": ["dropoff"],
                        "theme": "ignored",
                    }
                ),
                "{not json",
                json.dumps({"id": "s2", "title": "Short", "body": "too short"}),
                json.dumps(
                    {"id": "s3", "title": None, "body": "Our first week at school went better than I feared."}
                ),
            ]
        )
    )
    result = runner.invoke(args=["stories", "import", str(data), "--author", "Importer"])
    assert result.exit_code == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["source_id"] for r in rows] == ["s1", "s3"]
    assert "line 2" in result.stderr and "line 3" in result.stderr
    stories = [db.session.get(Story, r["id"]) for r in rows]
    assert all(s.embedding is not None for s in stories) and stories[0].author.pseudonym == "Importer"
    for story in stories:
        story.embedding = None
    db.session.commit()
    rebuilt = runner.invoke(args=["similar", "rebuild"])
    assert rebuilt.exit_code == 0 and "2 stories embedded" in rebuilt.output
    db.session.expire_all()
    assert all(db.session.get(Story, r["id"]).embedding is not None for r in rows)


def test_an_anonymous_story_is_never_listed_beside_its_authors_named_ones(app, member, other_member):
    """Her own stories are the closest texts to each other: pairing her anonymous story with a named one (on
    either page, the panel or the API) would put her name to it."""
    named = services.publish_story(other_member, title="Clinging at the door", body=DROP_OFF[0][1])
    hidden = services.publish_story(
        other_member,
        title="Clinging at the nursery door",
        body="My son screams don't leave me and clings to my legs at nursery every single morning.",
        anonymous=True,
    )
    stranger = services.publish_story(make_user(pseudonym="Stranger"), title="Daycare", body=DROP_OFF[1][1])
    reader = app.test_client()
    login(reader, member)
    for client in (reader, app.test_client()):
        assert named.id not in ids(client.get(f"/api/stories/{hidden.id}/similar"))
        assert hidden.id not in ids(client.get(f"/api/stories/{named.id}/similar"))
        assert stranger.id in ids(client.get(f"/api/stories/{hidden.id}/similar"))
        page = client.get(f"/stories/{hidden.id}").get_data(as_text=True)
        assert f"/stories/{named.id}" not in page and f"/stories/{stranger.id}" in page
        page = client.get(f"/stories/{named.id}").get_data(as_text=True)
        assert f"/stories/{hidden.id}" not in page and f"/stories/{stranger.id}" in page
