"""Learning from the moderators: "the card was right / not needed" on welfare items (moderator-only, CSRF,
audited), `flask care export-labels` (text only, under the consent rules) and `flask care retrain`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from forum.care import classifier as clf
from forum.care import training
from forum.extensions import db
from forum.models import AuditEntry, FlagReason, Status
from forum.models.care import CareVerdict
from forum.moderation.services import system_flag
from forum.moderation.targets import target_of
from tests.care.test_classifier import RISK, SAFE, HashEmbedder
from tests.factories import login, make_reply, make_story, make_user

RISKY_BODY = "Long week with the baby. Honestly they would all be better off without me. Anyway, bath time."
ORDINARY_BODY = "Long week with the baby. Nursery drop-off was hard but she settled. Anyway, bath time."


def welfare_story(author, body: str = RISKY_BODY, **fields):
    story = make_story(author, title="This week", body=body, **fields)
    system_flag(target_of(story), FlagReason.AT_RISK.value, "Automatic: the care check")
    return story


def test_welfare_items_in_the_queue_offer_the_verdict_buttons(app, member, moderator) -> None:
    story = welfare_story(member)
    client = app.test_client()
    login(client, moderator)
    page = client.get("/moderation").get_data(as_text=True)
    assert "The card was right" in page and "Not needed" in page
    assert f"/moderation/story/{story.id}/care-verdict" in page


def test_a_moderator_records_a_verdict_once_and_it_is_audited(app, member, moderator) -> None:
    story = welfare_story(member)
    client = app.test_client()
    login(client, moderator)
    url = f"/moderation/story/{story.id}/care-verdict"
    assert client.post(url, data={"verdict": "right"}).status_code == 302
    assert client.post(url, data={"verdict": "not-needed"}).status_code == 302  # changes its mind
    verdicts = db.session.scalars(sa.select(CareVerdict)).all()
    assert [(v.target_type, v.target_id, v.needed) for v in verdicts] == [("story", story.id, False)]
    audits = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "care-verdict")).all()
    assert [a.actor_id for a in audits] == [moderator.id, moderator.id]
    assert audits[-1].reason == "the card was not needed"
    assert "so far: not needed" in client.get("/moderation").get_data(as_text=True)


def test_only_moderators_may_give_a_verdict(app, member, other_member) -> None:
    story = welfare_story(member)
    url = f"/moderation/story/{story.id}/care-verdict"
    assert app.test_client().post(url, data={"verdict": "right"}).status_code == 302  # to sign in
    client = app.test_client()
    login(client, other_member)
    assert client.post(url, data={"verdict": "right"}).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CareVerdict)) == 0


def test_a_verdict_needs_a_known_value_an_existing_post_and_the_csrf_token(app, member, moderator) -> None:
    story = welfare_story(member)
    client = app.test_client()
    login(client, moderator)
    assert (
        client.post(f"/moderation/story/{story.id}/care-verdict", data={"verdict": "maybe"}).status_code
        == 400
    )
    assert client.post("/moderation/story/999999/care-verdict", data={"verdict": "right"}).status_code == 404
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        response = client.post(f"/moderation/story/{story.id}/care-verdict", data={"verdict": "right"})
        assert response.status_code == 400
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CareVerdict)) == 0


def _verdict(moderator, item, needed: bool) -> None:
    from forum.care.feedback import record_verdict

    record_verdict(moderator, target_of(item), needed)


def test_export_writes_text_only_under_the_consent_rules(
    app, runner, member, moderator, tmp_path: Path
) -> None:
    named = welfare_story(member)
    ordinary = welfare_story(member, body=ORDINARY_BODY)
    anonymous = welfare_story(member, body=RISKY_BODY.replace("Long week", "Hard week"), anonymous=True)
    hidden = welfare_story(member, body=RISKY_BODY.replace("Long week", "Rough week"))
    reply = make_reply(
        make_user(pseudonym="ReplyMum"), ordinary, body="Same here. I just want it all to stop for good."
    )
    gone = make_user(pseudonym="GoneMum")
    by_deleted = welfare_story(gone)
    for item, needed in [(named, True), (ordinary, False), (anonymous, True), (hidden, True), (reply, True)]:
        _verdict(moderator, item, needed)
    _verdict(moderator, by_deleted, True)
    hidden.status = Status.HIDDEN.value
    gone.deleted_at = gone.created_at
    db.session.commit()

    out = tmp_path / "labels.jsonl"
    result = runner.invoke(args=["care", "export-labels", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote 3 labelled posts" in result.output and "3 verdicts held back" in result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["text"].split("\n")[-1][:30], r["signpost"]) for r in rows] == [
        (RISKY_BODY[:30], True),
        (ORDINARY_BODY[:30], False),
        ("Same here. I just want it all ", True),
    ]
    assert rows[0]["text"].startswith("This week\n")
    for row in rows:
        assert set(row) == {"text", "signpost", "kind", "form", "writer"}
        assert row["writer"] == "moderators" and "SunnyMum" not in json.dumps(row)


@pytest.fixture
def tiny_training(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Training data of a few lines, and the stand-in embedder in place of the engine."""
    train = tmp_path / "train"
    train.mkdir()
    rows = [{"text": t, "signpost": True, "kind": "risk", "form": "sentence", "writer": "w"} for t in RISK]
    rows += [{"text": t, "signpost": False, "kind": "safe", "form": "sentence", "writer": "w"} for t in SAFE]
    (train / "writer-w.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    monkeypatch.setattr(training, "TRAIN_DIR", train)
    monkeypatch.setattr(training, "LEGACY_PATH", tmp_path / "none.jsonl")
    monkeypatch.setattr(training, "BACKGROUND_IDS", tmp_path / "none.ids")
    monkeypatch.setattr("forum.care.cli.default_embedder", lambda: HashEmbedder())
    return tmp_path


def test_retrain_dry_run_prints_figures_and_writes_nothing(runner, tiny_training: Path) -> None:
    models = tiny_training / "models"
    models.mkdir()
    result = runner.invoke(args=["care", "retrain", "--dry-run", "--model-dir", str(models)])
    assert result.exit_code == 0, result.output
    assert (
        "5-fold cross-validated: precision" in result.output and "dry run: nothing written" in result.output
    )
    assert "texts by writer: {'w': 16}" in result.output
    assert list(models.iterdir()) == []


def test_retrain_adds_exported_labels_prints_then_writes(runner, tiny_training: Path) -> None:
    labels = tiny_training / "labels.jsonl"
    labels.write_text(
        json.dumps(
            {
                "text": "I am so tired of being here at all.",
                "signpost": True,
                "kind": "moderator_right",
                "form": "post",
                "writer": "moderators",
            }
        )
        + "\n"
    )
    models = tiny_training / "models"
    models.mkdir()
    result = runner.invoke(args=["care", "retrain", "--labels", str(labels), "--model-dir", str(models)])
    assert result.exit_code == 0, result.output
    assert "'moderators': 1" in result.output
    written = models / "classifier-hash-words-v1.npz"
    assert f"wrote {written}" in result.output, result.output
    assert result.output.index("cross-validated") < result.output.index(f"wrote {written}")
    model = clf.load_classifier(HashEmbedder(), models)
    assert model.figures["writers"] == {"moderators": 1, "w": 16}


def test_retrain_refuses_a_missing_labels_file(runner, tiny_training: Path) -> None:
    result = runner.invoke(
        args=["care", "retrain", "--labels", str(tiny_training / "nope.jsonl"), "--dry-run"]
    )
    assert result.exit_code != 0 and "does not exist" in result.output


def test_admin_care_page_shows_the_detector_version_and_figures(app, admin) -> None:
    client = app.test_client()
    login(client, admin)
    page = client.get("/admin/care").get_data(as_text=True)
    assert "Detector" in page and "Version:" in page
    shown = (
        "Leave-one-writer-out cross-validated",
        "5-fold cross-validated",
        "No classifier has been trained",
    )
    assert any(words in page for words in shown)
