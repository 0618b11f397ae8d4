"""Automatic protection: watched words, write rate limits, repeated text, approval of first posts."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from forum.extensions import db
from forum.models import Flag, Status, Story, WatchedWord
from forum.moderation import protection
from forum.moderation import services as mod
from forum.moderation.targets import target_of
from forum.stories import services
from tests.conftest import make_app
from tests.factories import login, make_user

BODY = "Another hard morning at nursery drop-off, she cried and I cried in the car afterwards."


# Four different stories (near-duplicates of one another would be refused as repeated text).
DAYS = [
    BODY,
    "The new key worker knelt down and talked about dinosaurs, and he walked in without looking back.",
    "Pick-up was tearful: he held it together all day and let it all out the moment he saw me.",
    "We tried a photo of the family in his bag; he showed it to everyone and barely noticed me leave.",
]


def add_word(phrase: str, action: str) -> None:
    db.session.add(WatchedWord(phrase=phrase, action=action))
    db.session.commit()


def test_blocked_word_refuses_kindly_and_keeps_text(client, auth, member):
    add_word("buy now", "block")
    auth.login(member)
    body = BODY + " Buy now at my shop!"
    response = client.post("/stories/new", data={"title": "My title", "body": body})
    html = response.get_data(as_text=True)
    assert "isn&#39;t allowed on Village" in html and "My title" in html and "my shop!" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Story)) == 0


def test_watched_words_match_whole_words_only(client, auth, member):
    add_word("ass", "block")
    auth.login(member)
    response = client.post(
        "/stories/new", data={"body": "We had a class assembly today and I was so proud of him."}
    )
    assert response.status_code == 302


def test_held_word_waits_for_approval(app, client, auth, member, moderator):
    add_word("pills", "hold")
    auth.login(member)
    client.post("/stories/new", data={"title": "Held", "body": BODY + " I keep thinking about the pills."})
    story = db.session.scalar(sa.select(Story))
    assert story.status == Status.PENDING.value
    visitor = app.test_client()
    assert "Held" not in visitor.get("/").get_data(as_text=True)
    mod_client = app.test_client()
    login(mod_client, moderator)
    assert "Waiting for approval" in mod_client.get("/moderation").get_data(as_text=True)
    mod_client.post(f"/moderation/story/{story.id}/act", data={"action": "approve"})
    assert "Held" in visitor.get("/").get_data(as_text=True)


def test_flag_word_publishes_and_flags(client, auth, member):
    add_word("nursery name", "flag")
    auth.login(member)
    client.post("/stories/new", data={"body": BODY + " The nursery name is Little Acorns."})
    story = db.session.scalar(sa.select(Story))
    assert story.status == Status.PUBLISHED.value
    flag = db.session.scalar(sa.select(Flag))
    assert flag.reporter_id is None and flag.reason == "watched-word" and "nursery name" in flag.note


def test_repeated_text_is_caught(client, auth, member):
    auth.login(member)
    for i in range(2):
        assert client.post("/stories/new", data={"body": BODY, "submission_key": f"k{i}"}).status_code == 302
    third = client.post("/stories/new", data={"body": BODY.upper(), "submission_key": "k3"})
    assert "already posted this text several times" in third.get_data(as_text=True)


def test_write_rate_limit_with_friendlier_message_and_stricter_for_new_accounts(tmp_path, db_url):
    app = make_app(tmp_path, db_url, RATELIMIT_ENABLED=True)
    with app.app_context():
        newcomer = make_user(pseudonym="Newcomer")
        client = app.test_client()
        login(client, newcomer)
        codes = []
        for i in range(4):
            response = client.post(
                "/stories/new", data={"body": f"{DAYS[i]} Day {i} of settling in.", "submission_key": f"r{i}"}
            )
            codes.append(response.status_code)
        assert codes[:3] == [302, 302, 302]
        assert codes[3] == 429
        assert "posted a lot in a short time" in response.get_data(as_text=True)
        assert "Day 3 of settling in." in response.get_data(as_text=True)  # the text is kept
        from tests.conftest import empty_tables

        empty_tables()


def test_writes_are_refused_kindly_and_keep_the_text_when_the_limit_store_is_down(
    tmp_path, db_url, monkeypatch
):
    """Redis down: reads go on, writes fail closed with a friendly message and nothing typed is lost."""
    from forum.moderation import protection

    app = make_app(tmp_path, db_url, RATELIMIT_ENABLED=True)
    with app.app_context():
        member = make_user(pseudonym="Patient")
        client = app.test_client()
        login(client, member)

        def store_down(*_args, **_kwargs):
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

        monkeypatch.setattr(protection._limiter(app), "hit", store_down)
        response = client.post(
            "/stories/new",
            data={"body": f"{BODY} Written while Redis was down.", "submission_key": "redis-down"},
        )
        assert response.status_code == 429
        page = response.get_data(as_text=True)
        assert "can&#39;t save posts for a moment" in page or "can't save posts for a moment" in page
        assert "Written while Redis was down." in page  # the text is kept
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Story)) == 0
        assert client.get("/").status_code == 200
        from tests.conftest import empty_tables

        empty_tables()


def test_first_posts_need_approval_when_switched_on(client, auth, member, moderator):
    mod.set_setting(moderator, "approve_first_posts", "1")
    auth.login(member)
    client.post("/stories/new", data={"body": BODY})
    story = db.session.scalar(sa.select(Story))
    assert story.status == Status.PENDING.value
    mod.act_on_item(moderator, target_of(story), "approve")
    client.post("/stories/new", data={"body": BODY + " A second, different story."})
    statuses = set(db.session.scalars(sa.select(Story.status)))
    assert statuses == {Status.PUBLISHED.value}


def test_words_page_adds_and_removes(app, moderator):
    client = app.test_client()
    login(client, moderator)
    client.post("/moderation/words", data={"phrase": "Cheap Loans", "action": "block"})
    word = db.session.scalar(sa.select(WatchedWord))
    assert word.phrase == "cheap loans"
    duplicate = client.post("/moderation/words", data={"phrase": "cheap loans", "action": "hold"})
    assert "already on the list" in duplicate.get_data(as_text=True)
    client.post(f"/moderation/words/{word.id}/delete")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WatchedWord)) == 0


# ---------------------------------------------------------------- issue 12, finding 14: text as it reads


@pytest.mark.parametrize(
    "disguised",
    [
        "ｂｌｏｃｋword",  # full-width letters
        "block\u200bword",  # zero-width space
        "**block**word",  # Markdown inside the word
        "*block*_word_",
        "BLOCK\u00adWORD",  # soft hyphen, capitals
        "b\u0336lockword",  # a combining mark over a letter
        "𝐛𝐥𝐨𝐜𝐤𝐰𝐨𝐫𝐝",  # mathematical bold letters
    ],
)
def test_watched_words_are_matched_on_the_text_as_it_reads(client, auth, member, disguised):
    add_word("blockword", "block")
    auth.login(member)
    response = client.post("/stories/new", data={"body": f"{BODY} Try {disguised} today."})
    assert "isn&#39;t allowed on Village" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Story)) == 0


def test_normalised_watched_words_still_match_whole_words_only(client, auth, member):
    add_word("ass", "block")
    auth.login(member)
    body = "We had a **class** ａｓｓembly today and I was so proud of him."
    assert client.post("/stories/new", data={"body": body}).status_code == 302


def test_the_same_text_by_one_author_is_refused_however_it_is_dressed(client, auth, member):
    auth.login(member)
    variants = [
        BODY,
        f"**{BODY.upper()}**",
        BODY.replace("car", "car\u200b").replace("cried", "ｃｒｉｅｄ").replace(",", " —") + "!!",
    ]
    codes = [
        client.post("/stories/new", data={"body": body, "submission_key": f"n{i}"})
        for i, body in enumerate(variants)
    ]
    assert [c.status_code for c in codes[:2]] == [302, 302]
    assert "already posted this text several times" in codes[2].get_data(as_text=True)


def test_the_same_text_from_other_accounts_is_flagged_then_held(app, member, other_member):
    spam = (
        "Struggling mums, I found a miracle supplement that fixed my sleep and my mood, "
        "message me for a discount code today."
    )
    third, fourth = make_user(pseudonym="ThirdAccount"), make_user(pseudonym="FourthAccount")
    dressed = [
        spam,
        spam.replace("miracle", "**miracle**").upper() + " Thanks!",
        spam.replace("supplement", "ｓｕｐｐｌｅｍｅｎｔ").replace(" ", "\u200b ", 3),
    ]
    for person, body in zip((member, other_member, third), dressed, strict=True):
        client = app.test_client()
        login(client, person)
        client.post("/stories/new", data={"body": body})
    elsewhere = app.test_client()
    login(elsewhere, fourth)
    elsewhere.post(
        "/stories/new", data={"body": "Sleep regression at 18 months is real: anyone else up at 3am?"}
    )
    statuses = dict(db.session.execute(sa.select(Story.author_id, Story.status)).all())
    assert statuses[member.id] == Status.PUBLISHED.value
    # The second account's copy is published and flagged for the moderators; the third's waits for them.
    assert statuses[other_member.id] == Status.PUBLISHED.value
    assert statuses[third.id] == Status.PENDING.value
    assert statuses[fourth.id] == Status.PUBLISHED.value  # different text goes straight up
    flagged = dict(
        db.session.execute(sa.select(Flag.author_id, Flag.note).where(Flag.reporter_id.is_(None))).all()
    )
    assert set(flagged) == {other_member.id}
    assert "other member" in flagged[other_member.id] and "SunnyMum" not in flagged[other_member.id]


def test_short_kind_words_are_not_duplicates_across_members(app, member, other_member):
    story = services.publish_story(member, title="Hard day", body=BODY)
    for person in (other_member, make_user(pseudonym="Third"), make_user(pseudonym="Fourth")):
        reply = services.add_reply(person, story, body="Sending hugs, you've got this!")
        assert reply.status == Status.PUBLISHED.value


def test_quoted_lines_do_not_make_a_reply_a_duplicate(member, other_member):
    story = services.publish_story(member, title="Hard day", body=BODY)
    long_reply = (
        "We had exactly this with our eldest, it took about six weeks before drop-off stopped being a battle."
    )
    services.add_reply(other_member, story, body=long_reply)
    quoting = services.add_reply(
        make_user(pseudonym="Quoter"), story, body=f"> {long_reply}\n\nSix weeks? Hope!"
    )
    assert quoting.status == Status.PUBLISHED.value


def test_near_duplicate_work_is_bounded(monkeypatch):
    """However long the texts, each is cut to NEAR_DUPLICATE_CHARS before shingling."""
    huge = " ".join(f"word{i}" for i in range(20_000))
    assert len(protection.shingles(huge)) <= protection.NEAR_DUPLICATE_CHARS // 2
    assert len(protection.shingles("#" * 100_000)) <= 1
    seen: list[int] = []
    real = protection.textlib.normalise_for_matching
    monkeypatch.setattr(
        protection.textlib, "normalise_for_matching", lambda t: seen.append(len(t)) or real(t)
    )
    protection.shingles.cache_clear()
    protection.shingles("x" * 1_000_000 + " unique")
    assert max(seen) <= protection.NEAR_DUPLICATE_CHARS * 2


def test_edits_are_rate_limited(tmp_path, db_url):
    app = make_app(tmp_path, db_url, RATELIMIT_ENABLED=True)
    with app.app_context():
        writer = make_user(pseudonym="Editor")
        client = app.test_client()
        login(client, writer)
        story = services.publish_story(writer, title="Draft one", body=BODY)
        codes = [
            client.post(
                f"/stories/{story.id}/edit", data={"title": f"Take {i}", "body": f"{BODY} Edit {i}."}
            ).status_code
            for i in range(protection_limit(app) + 1)
        ]
        assert set(codes[:-1]) == {302}
        assert codes[-1] == 429
        from tests.conftest import empty_tables

        empty_tables()


def protection_limit(app) -> int:
    """How many edits a day-old-or-newer account may make in an hour."""
    return int(protection.EDIT_LIMITS[1].split()[0])
