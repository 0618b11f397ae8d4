"""Learning from the community: private "this helped" / "not like mine" on the similar panel, reactions as
evidence, the learned re-ranking with its time split, and its admin page. Vectors are set by hand (no model
runs), so every published story is a candidate of every other."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from forum.auth.services import erase_account
from forum.extensions import db, limiter
from forum.models import SimilarSignal, Story, User
from forum.similar import engine, feedback, learning, store
from forum.stories import services
from tests.conftest import count_rows, make_app
from tests.factories import login, make_user, signed_in_client

HELPED, NOT_MINE = "helped", "not-like-mine"


def _vector(seed: int) -> bytes:
    vector = np.random.default_rng(seed).standard_normal(store.current_model().dimensions).astype(np.float32)
    return engine.to_bytes(vector / np.linalg.norm(vector))


def _publish(author: User, title: str, seed: int, **fields: object) -> Story:
    story = services.publish_story(
        author, title=title, body=f"{title}: what happened to us this week.", **fields
    )
    story.embedding = _vector(seed)
    db.session.commit()
    return story


@pytest.fixture(autouse=True)
def fresh_index(app: Flask):
    """Each test's stories are indexed from scratch; no learned model carries over."""
    for key in ("similar_index", "similar_ranker"):
        app.extensions.pop(key, None)
    yield
    for key in ("similar_index", "similar_ranker"):
        app.extensions.pop(key, None)


@pytest.fixture
def site(other_member: User) -> dict[str, Story]:
    """A story by other_member and three stories by a third parent, all close enough to be shown together."""
    third = make_user(pseudonym="ThirdParent")
    stories = {"source": _publish(other_member, "Clinging at the door", 1)}
    for n in range(3):
        stories[f"m{n}"] = _publish(third, f"Drop-off story {n}", 10 + n)
    return stories


def _signal(client: FlaskClient, source: Story, match: Story, verdict: str, **extra: object):
    return client.post(f"/stories/{source.id}/similar/{match.id}/signal", data={"verdict": verdict, **extra})


def _pressed(html: str) -> list[str]:
    return re.findall(r'data-verdict="([a-z-]+)" aria-pressed="true"', html)


def test_member_records_changes_and_takes_back_a_signal(client, member, site) -> None:
    source, match = site["source"], site["m0"]
    login(client, member)
    page = client.get(f"/stories/{source.id}").get_data(as_text=True)
    assert page.count('class="similar-feedback-form"') == 6 and _pressed(page) == []

    response = _signal(client, source, match, HELPED)
    assert response.status_code == 302 and response.location.endswith(f"/stories/{source.id}#similar-title")
    assert _pressed(client.get(f"/stories/{source.id}").get_data(as_text=True)) == [HELPED]

    answer = client.post(
        f"/stories/{source.id}/similar/{match.id}/signal",
        data={"verdict": NOT_MINE},
        headers={"Accept": "application/json"},
    )
    assert answer.get_json()["verdict"] == NOT_MINE
    assert db.session.scalars(sa.select(SimilarSignal.verdict)).all() == [NOT_MINE]  # one row, changed

    assert _signal(client, source, match, "").status_code == 302  # the chosen answer again: taken back
    assert count_rows(SimilarSignal) == 0
    assert _pressed(client.get(f"/stories/{source.id}").get_data(as_text=True)) == []
    assert _signal(client, source, match, "loved-it").status_code == 400
    assert _signal(client, source, source, HELPED).status_code == 404
    assert count_rows(SimilarSignal) == 0


def test_signal_needs_the_csrf_token(tmp_path: Path, db_url: str, member, site) -> None:
    csrf_app = make_app(tmp_path, db_url, WTF_CSRF_ENABLED=True)
    source, match = site["source"], site["m1"]
    with csrf_app.app_context():
        client = csrf_app.test_client()
        login(client, db.session.get(User, member.id))
        assert _signal(client, source, match, HELPED).status_code == 400
        page = client.get(f"/stories/{source.id}").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        assert _signal(client, source, match, HELPED, csrf_token=token).status_code == 302
        db.session.remove()
    assert db.session.scalars(sa.select(SimilarSignal.verdict)).all() == [HELPED]


def test_visitors_see_no_buttons_and_cannot_send(client, site) -> None:
    page = client.get(f"/stories/{site['source'].id}").get_data(as_text=True)
    assert "Drop-off story" in page and "similar-feedback" not in page
    response = _signal(client, site["source"], site["m0"], HELPED)
    assert response.status_code == 302 and "/login" in response.location
    assert count_rows(SimilarSignal) == 0


def test_signals_are_rate_limited(tmp_path: Path, db_url: str, member, site, monkeypatch) -> None:
    for name in ("enabled", "initialized", "_storage", "_limiter"):
        monkeypatch.setattr(limiter, name, getattr(limiter, name, None), raising=False)
    limited = make_app(tmp_path, db_url, RATELIMIT_ENABLED=True)
    with limited.app_context():
        client = limited.test_client()
        login(client, db.session.get(User, member.id))
        codes = [_signal(client, site["source"], site["m0"], HELPED).status_code for _ in range(31)]
        db.session.remove()
    assert codes[:30] == [302] * 30 and codes[30] == 429


def test_no_one_else_sees_a_signal(app, member, other_member, moderator, site) -> None:
    """Not the source's author, not another member, not a moderator: their panels show only their own."""
    source = site["source"]
    mine = signed_in_client(app, member)
    _signal(mine, source, site["m0"], HELPED)
    _signal(mine, source, site["m1"], NOT_MINE)
    for user in (other_member, moderator, make_user(pseudonym="Curious")):
        html = signed_in_client(app, user).get(f"/stories/{source.id}").get_data(as_text=True)
        assert _pressed(html) == [], user.pseudonym
    # Her answer is the same whatever anyone else said: another member's take-back of nothing is a no-op.
    other = signed_in_client(app, other_member)
    json_headers = {"Accept": "application/json"}
    answer = other.post(f"/stories/{source.id}/similar/{site['m0'].id}/signal", headers=json_headers)
    assert answer.status_code == 200 and answer.get_json()["verdict"] is None
    assert count_rows(SimilarSignal) == 2


def test_anonymous_stories_stay_unlinked(app, member, other_member, site) -> None:
    """A signal on an anonymous story's panel, or about an anonymous match, names no author anywhere."""
    secret = _publish(other_member, "The quiet one", 99, anonymous=True)
    app.extensions.pop("similar_index", None)
    reader = signed_in_client(app, member)
    assert _signal(reader, secret, site["m0"], HELPED).status_code == 302
    assert _signal(reader, site["source"], secret, HELPED).status_code == 302
    for url in (f"/stories/{secret.id}", f"/stories/{site['source'].id}"):
        html = signed_in_client(app, other_member).get(url).get_data(as_text=True)
        assert _pressed(html) == []
    html = reader.get(f"/stories/{site['source'].id}").get_data(as_text=True)
    assert (
        "RainyDad" not in html.split('id="similar-title"')[1]
    )  # the anonymous match stays "Anonymous parent"
    # A reaction's evidence pairs the reactor's named stories only, never her anonymous ones.
    services.publish_story(member, title="Mine, named", body="Our mornings at the nursery door.")
    services.publish_story(member, title="Mine, quiet", body="The nights nobody knows about.", anonymous=True)
    services.toggle_reaction(member, kind="me-too", story=site["m0"])
    pairs = {(e.source_id, e.match_id) for e in learning.gather_evidence() if e.kind == "reaction"}
    named = db.session.scalar(sa.select(Story.id).where(Story.title == "Mine, named"))
    assert pairs == {(named, site["m0"].id)}


def test_account_deletion_erases_her_signals(app, member, other_member, site) -> None:
    """Both choices take her verdicts; removing everything also takes others' verdicts about her stories."""
    hers = _publish(member, "Her own", 50)
    app.extensions.pop("similar_index", None)
    _signal(signed_in_client(app, member), site["source"], site["m0"], HELPED)
    _signal(signed_in_client(app, other_member), site["m0"], hers, HELPED)
    _signal(signed_in_client(app, other_member), site["m0"], site["m1"], NOT_MINE)
    erase_account(member, keep_stories=False)
    assert db.session.execute(sa.select(SimilarSignal.source_id, SimilarSignal.match_id)).all() == [
        (site["m0"].id, site["m1"].id)
    ]
    erase_account(other_member, keep_stories=True)
    assert count_rows(SimilarSignal) == 0


# The learned re-ranking ------------------------------------------------------------------------------------

EARLY, LATE = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
def learning_site(member, other_member) -> tuple[list[Story], list[Story]]:
    """Three stories by other_member and eight possible matches by a third parent."""
    third = make_user(pseudonym="Matcher")
    sources = [_publish(other_member, f"Source {n}", 100 + n) for n in range(3)]
    matches = [_publish(third, f"Match {n}", 200 + n) for n in range(8)]
    return sources, matches


def _ranked(client: FlaskClient, story: Story, k: int = 10) -> list[int]:
    return [s["id"] for s in client.get(f"/api/stories/{story.id}/similar?k={k}").get_json()["similar"]]


def _mark(users: list[User], source: Story, matches: list[Story], good: set[int], at: datetime) -> None:
    """Each user says the good matches helped and the others are not like hers, at a given time."""
    for user in users:
        for match in matches:
            feedback.record_signal(user, source, match, HELPED if match.id in good else NOT_MINE)
    db.session.execute(
        sa.update(SimilarSignal).where(SimilarSignal.source_id == source.id).values(updated_at=at)
    )
    db.session.commit()


def _with_updates(matches: list[Story], good: set[int]) -> None:
    for match in matches:
        match.update_count = 1 if match.id in good else 0
    db.session.commit()


def test_learning_a_predictive_feature_changes_the_order(app, client, runner, member, learning_site) -> None:
    sources, matches = learning_site
    plain = [i for i in _ranked(client, sources[2]) if i in {m.id for m in matches}]
    good = set(plain[-4:])  # the four the plain order puts last are the ones with "how it turned out" updates
    _with_updates(matches, good)
    raters = [member, make_user(pseudonym="Rater2")]
    _mark(raters, sources[0], matches, good, EARLY)
    _mark(raters, sources[1], matches, good, EARLY + timedelta(days=1))
    _mark(raters[:1], sources[2], matches, good, LATE)

    result = runner.invoke(args=["similar", "learn", "--cut", "2026-03-01"])
    assert result.exit_code == 0, result.output
    assert "Held-back pairwise accuracy (16 pairs): plain 0.0, learned 1.0" in result.output
    assert "In use." in result.output
    ranker = learning.stored_ranker()
    assert ranker is not None and ranker.applied and ranker.version == 1
    assert ranker.figures["trained_on"] == 32 and ranker.figures["held_back"] == 8
    assert ranker.weights[learning.FEATURES.index("updates")] > 0
    assert set(_ranked(client, sources[2])[:4]) == good  # the learned order now leads with them


def test_the_time_split_trains_on_earlier_signals_only(app, client, member, learning_site) -> None:
    """Later signals say the opposite of earlier ones: the model follows the earlier ones, measures worse on
    the later ones than the plain order, and is not used."""
    sources, matches = learning_site
    good = {m.id for m in matches[:4]}
    _with_updates(matches, good)
    raters = [member, make_user(pseudonym="Rater2")]
    before = _ranked(client, sources[2], 5)
    _mark(raters, sources[0], matches, good, EARLY)
    _mark(raters, sources[1], matches, good, EARLY)
    _mark(raters[:1], sources[2], matches, {m.id for m in matches} - good, LATE)

    ranker = feedback.retrain(cut=datetime(2026, 3, 1, tzinfo=UTC))
    assert ranker is not None and ranker.figures["trained_on"] == 32 and ranker.figures["held_back"] == 8
    assert ranker.weights[learning.FEATURES.index("updates")] > 0  # what the earlier signals taught
    assert ranker.figures["learned_pairwise"] == 0.0 and not ranker.applied
    assert _ranked(client, sources[2], 5) == before  # the plain order stays


def test_the_admin_page_is_for_admins_only(app, client, member, admin, learning_site) -> None:
    assert client.get("/admin/similar").status_code == 302  # visitors sign in first
    assert signed_in_client(app, member).get("/admin/similar").status_code == 403
    assert signed_in_client(app, member).post("/admin/similar/retrain").status_code == 403
    sources, matches = learning_site
    _mark([member], sources[0], matches, {m.id for m in matches[:4]}, EARLY)
    staff = signed_in_client(app, admin)
    assert 'href="/admin/similar"' in staff.get("/").get_data(as_text=True)
    html = staff.get("/admin/similar").get_data(as_text=True)
    assert "“This helped”: <strong>4</strong>" in html and "No model has been trained yet" in html
    assert "SunnyMum" not in html  # counts only
    assert "Not enough signals yet" in staff.post("/admin/similar/retrain", follow_redirects=True).get_data(
        as_text=True
    )
