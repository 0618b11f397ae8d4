"""Hostile input, property-based (hypothesis): whatever arrives at a form or a JSON endpoint, the site never
answers with a 5xx, never shows another member's private data, never stores markup that runs, and never lets a
member change someone else's post."""

from __future__ import annotations

import base64
import itertools
import json
from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forum.extensions import db
from forum.models import Reply, Story
from forum.params import MAX_JSON_BYTES, MAX_JSON_DEPTH, json_depth
from forum.stories import services
from tests.factories import login

NASTY = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "[x](javascript:alert(1))",
    '<a href="javascript:alert(1)">x</a>',
    "> " * 200 + "deep",
    "- " * 300,
    "*" * 500,
    "`" * 100,
    "\u202eevil\u202c",
    "\u200b\u200d\ufeff",
    "e\u0301\u0301\u0301",
    "\x00\x01\x1b[31m",
    "𝕳𝖊𝖑𝖑𝖔 🙂🙃",
    "",
    "   \n\t ",
    "%s%n{0}",
    "' OR 1=1 --",
    "#tag#glued#" * 20,
    "ق" * 50,
    "\r\n" * 50,
]
TEXT = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=400),
    st.sampled_from(NASTY),
    st.builds(lambda a, b: a + b, st.sampled_from(NASTY), st.text(max_size=40)),
)
HUGE = st.integers(20_001, 60_000).map(lambda n: "é" * n)
SETTINGS = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FEW = settings(SETTINGS, max_examples=4)
_serial = itertools.count()  # unique texts: the duplicate-post protection refuses the same text posted again


class _RunnableMarkup(HTMLParser):
    """Collects what a browser would run: inline scripts, event-handler attributes and javascript: URLs.
    Our own scripts are external files under /static/ (the CSP allows nothing else)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and not (values.get("src") or "").startswith("/static/"):
            self.found.append(f"<script {values}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag} {name}")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().replace(
                "\x00", ""
            ).startswith(("javascript:", "data:text")):
                self.found.append(f"{tag} {name}={value}")


def _stories_by(member) -> list[Story]:
    return list(db.session.scalars(db.select(Story).where(Story.author_id == member.id)))


def _assert_page_is_inert(client, url: str) -> None:
    page = client.get(url)
    assert page.status_code < 500, url
    parser = _RunnableMarkup()
    parser.feed(page.get_data(as_text=True))
    assert not parser.found, (url, parser.found)


@SETTINGS
@given(
    title=TEXT,
    body=st.one_of(TEXT, HUGE),
    tags=TEXT,
    age_band=TEXT,
    setting=TEXT,
    anonymous=TEXT,
    content_note=TEXT,
)
def test_posting_a_story_never_fails_and_never_stores_running_markup(
    client, member, title, body, tags, age_band, setting, anonymous, content_note
) -> None:
    login(client, member)
    before = {s.id for s in _stories_by(member)}
    response = client.post(
        "/stories/new",
        data={
            "title": title,
            "body": body,
            "tags": tags,
            "age_band": age_band,
            "setting": setting,
            "anonymous": anonymous,
            "content_note": content_note,
        },
    )
    assert response.status_code < 500
    for story in _stories_by(member):
        if story.id not in before:
            assert 20 <= len(story.body) <= 20_000
            assert "\x00" not in story.body
            _assert_page_is_inert(client, f"/stories/{story.id}")


@SETTINGS
@given(body=st.one_of(TEXT, HUGE), quoting=TEXT)
def test_replies_never_fail_and_never_store_running_markup(
    client, member, other_member, body, quoting
) -> None:
    story = db.session.scalar(
        db.select(Story).where(Story.author_id == other_member.id)
    ) or services.publish_story(
        other_member, title="A hard morning", body="She clung to my coat at the nursery door today."
    )
    login(client, member)
    response = client.post(f"/stories/{story.id}/replies", data={"body": body, "quoting": quoting})
    assert response.status_code < 500
    _assert_page_is_inert(client, f"/stories/{story.id}")


@SETTINGS
@given(
    payload=st.one_of(
        st.binary(max_size=300),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
            lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
            max_leaves=12,
        ).map(json.dumps),
        st.fixed_dictionaries(
            {
                "text": st.one_of(TEXT, HUGE, st.integers(), st.none()),
                "k": st.one_of(st.integers(), TEXT, st.none()),
            }
        ).map(json.dumps),
    )
)
def test_json_endpoints_answer_bad_json_with_4xx_never_5xx(client, member, payload) -> None:
    for url in ("/api/similar", "/care/check"):
        response = client.post(url, data=payload, content_type="application/json")
        assert response.status_code < 500, url
    login(client, member)
    for url in ("/drafts/story", "/drafts/reply-1", "/care/check"):
        response = client.post(url, data=payload, content_type="application/json")
        assert response.status_code < 500, url


@SETTINGS
@given(value=TEXT, number=st.integers(-(2**63), 2**63))
def test_reading_with_any_query_never_fails(client, member, value, number) -> None:
    story = (
        services.publish_story(member, title="Any query", body="A story to look at from every angle.")
        if not _stories_by(member)
        else _stories_by(member)[0]
    )
    quoted = {
        "q": value,
        "cursor": value,
        "tag": value,
        "setting": value,
        "age_band": value,
        "sort": value,
        "k": value,
        "page": value,
        "quote": value,
        "restore": value,
        "updates": value,
    }
    urls = [
        "/",
        "/search",
        "/tags",
        "/api/stories",
        f"/api/stories/{story.id}/similar",
        f"/stories/{story.id}",
        "/not-alone",
    ]
    numbers = {name: str(number) for name in quoted}
    for url in urls:
        assert client.get(url, query_string=quoted).status_code < 500, url
        assert client.get(url, query_string=numbers).status_code < 500, url
    for url in (
        f"/api/stories/{number}",
        f"/api/stories/{number}/similar",
        f"/stories/{number}",
        f"/report/story/{number}",
    ):
        assert client.get(url).status_code in (200, 302, 404), url
    assert client.get("/tags/" + value.replace("\x00", "")).status_code < 500


@SETTINGS
@given(identifier=TEXT, password=TEXT, pseudonym=TEXT, email=TEXT)
def test_sign_up_and_sign_in_never_fail_or_reveal_an_account(
    client, other_member, identifier, password, pseudonym, email
) -> None:
    for url, data in (
        ("/login", {"identifier": identifier, "password": password}),
        ("/register", {"pseudonym": pseudonym, "email": email, "password": password, "confirm": password}),
        ("/reset", {"email": email}),
    ):
        response = client.post(url, data=data)
        assert response.status_code < 500, url
        assert other_member.email not in response.get_data(as_text=True), url
    wrong = client.post("/login", data={"identifier": other_member.email, "password": password[:60] + "x"})
    assert wrong.status_code == 200 and b"don&#39;t match" in wrong.data


@FEW
@given(body=TEXT, title=TEXT)
def test_nobody_changes_another_members_post(client, member, other_member, body, title) -> None:
    story = services.publish_story(
        other_member, title="Mine, not yours", body=f"A story that only I may change, number {next(_serial)}."
    )
    reply = services.add_reply(
        other_member, story, body=f"And a reply that is mine too, number {next(_serial)}."
    )
    login(client, member)
    attempts = [
        (f"/stories/{story.id}/edit", {"title": title, "body": body or "x" * 30}),
        (f"/stories/{story.id}/delete", {"confirm": "y"}),
        (f"/replies/{reply.id}/edit", {"body": body or "changed"}),
        (f"/replies/{reply.id}/delete", {}),
        (f"/stories/{story.id}/updates/new", {"body": body or "x" * 20, "outcome": "better"}),
        (f"/moderation/story/{story.id}/act", {"action": "remove", "reason": "spam"}),
        (f"/moderation/story/{story.id}/edit", {"title": "Taken over", "tags": "spam"}),
    ]
    for url, data in attempts:
        assert client.post(url, data=data).status_code in (403, 404), url
    db.session.expire_all()
    assert db.session.get(Story, story.id).body.startswith("A story that only I may change")
    assert db.session.get(Story, story.id).title == "Mine, not yours"
    assert db.session.get(Story, story.id).status == "published"
    assert db.session.get(Reply, reply.id).body.startswith("And a reply that is mine too")


@FEW
@given(reason=TEXT, note=st.one_of(TEXT, HUGE))
def test_reports_never_fail(client, member, other_member, reason, note) -> None:
    story = services.publish_story(
        other_member, title="To report", body=f"A story someone may report, number {next(_serial)}."
    )
    login(client, member)
    for chosen in (reason, "off-topic"):
        assert (
            client.post(f"/report/story/{story.id}", data={"reason": chosen, "note": note}).status_code < 500
        )


@pytest.mark.parametrize("kind", ["<script>", "", "x" * 500, "hugs\x00"])
def test_reactions_with_odd_kinds_are_refused_kindly(client, member, other_member, kind) -> None:
    story = services.publish_story(other_member, title="React", body="A story to send support to.")
    login(client, member)
    assert client.post(f"/stories/{story.id}/reactions", data={"kind": kind}).status_code == 400
    assert client.post(f"/stories/{story.id}/reactions", data={"kind": "hugs"}).status_code in (302, 303)
    assert db.session.get(Story, story.id).reaction_count == 1


# ---------------------------------------------------------------- numbers, cursors and nesting (issue 12, finding 8)

HUGE_NUMBER = "9" * 20


def _encoded_cursor(when: str, story_id: str) -> str:
    return base64.urlsafe_b64encode(f"{when}|{story_id}".encode()).decode().rstrip("=")


def test_huge_page_numbers_and_cursors_answer_a_page_not_an_error(client, member) -> None:
    story = services.publish_story(member, title="Paged", body="A story to page through, far beyond its end.")
    login(client, member)
    for url in (
        f"/stories/{story.id}?page={HUGE_NUMBER}",
        f"/stories/{story.id}?page=-{HUGE_NUMBER}",
        f"/notifications?page={HUGE_NUMBER}",
        f"/search?q=story&page={HUGE_NUMBER}",
        f"/api/stories?cursor={_encoded_cursor('2020-01-01T00:00:00', HUGE_NUMBER)}",
        f"/?cursor={_encoded_cursor('2020-01-01T00:00:00', HUGE_NUMBER)}",
        f"/api/stories/{story.id}/similar?k={HUGE_NUMBER}",
    ):
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("ref", [f"reply-{HUGE_NUMBER}", "reply-²", "reply-١", "reply--1", "reply-0"])
def test_odd_quote_references_are_ignored_not_failed(client, member, ref) -> None:
    story = services.publish_story(member, title="Quoted", body="A story whose replies may quote each other.")
    login(client, member)
    assert client.get(f"/stories/{story.id}", query_string={"quote": ref}).status_code == 200
    reply = client.post(
        f"/stories/{story.id}/replies", data={"body": f"A reply quoting {ref} oddly.", "quoting": ref}
    )
    assert reply.status_code in (302, 303)


@pytest.mark.parametrize("url", ["/api/similar", "/care/check", "/drafts/story"])
def test_deeply_nested_json_is_refused_with_a_clear_json_error(client, member, url) -> None:
    login(client, member)
    response = client.post(url, data="[" * 100_000, content_type="application/json")
    assert response.status_code == 400
    assert "nest" in response.get_json()["message"]


def test_oversized_json_is_refused_before_parsing(client) -> None:
    response = client.post(
        "/api/similar",
        data=json.dumps({"text": "a" * (MAX_JSON_BYTES + 10)}),
        content_type="application/json",
    )
    assert response.status_code == 413
    assert response.get_json()["error"] == "Too large"


@SETTINGS
@given(
    page=st.one_of(
        st.integers(-(10**40), 10**40).map(str),
        st.text(alphabet="0123456789+-", min_size=1, max_size=60),
        st.sampled_from(["1e9", "0x10", "١٢٣", " 7 ", "9" * 5000, "-0", "+3"]),
    )
)
def test_any_page_number_is_bounded(client, member, page) -> None:
    story = (
        _stories_by(member)[0]
        if _stories_by(member)
        else services.publish_story(member, title="Pages", body="A story whose replies are paged through.")
    )
    login(client, member)
    for url in (f"/stories/{story.id}", "/notifications", "/search", "/moderation/audit"):
        assert client.get(url, query_string={"page": page, "q": "story", "before": page}).status_code < 500, (
            url
        )


@SETTINGS
@given(
    when=st.one_of(st.datetimes().map(lambda d: d.isoformat()), TEXT),
    story_id=st.one_of(st.integers(-(10**40), 10**40).map(str), TEXT),
)
def test_any_cursor_is_bounded(client, when, story_id) -> None:
    cursor = _encoded_cursor(when.replace("|", ""), story_id.replace("|", ""))
    for url in ("/", "/api/stories", "/tags"):
        assert client.get(url, query_string={"cursor": cursor, "sort": "active"}).status_code < 500, url


@settings(SETTINGS, max_examples=12)
@given(depth=st.integers(1, 100_000), opener=st.sampled_from(["[", "{", '{"a":', '{"text": [']))
def test_json_nesting_of_any_depth_never_fails(client, member, depth, opener) -> None:
    payload = opener * depth
    # Too deep is refused before parsing; shallower broken JSON gets each endpoint's own answer.
    ok = (400, 413) if opener.count("[") + opener.count("{") and depth > MAX_JSON_DEPTH else None
    for url in ("/api/similar", "/care/check"):
        response = client.post(url, data=payload, content_type="application/json")
        assert response.status_code < 500 and (ok is None or response.status_code in ok), url
    login(client, member)
    for url in ("/drafts/story", "/care/check"):
        response = client.post(url, data=payload, content_type="application/json")
        assert response.status_code < 500 and (ok is None or response.status_code in ok), url


def test_json_depth_counts_brackets_outside_strings_only() -> None:
    assert json_depth(b'{"text": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}') == 1
    assert json_depth(b'[[["\\"[[["]]]') == 3
    assert json_depth(b"[" * 50) == 50


@pytest.mark.parametrize(
    "method, path, data",
    [
        ("get", "/tags/%00", None),
        ("get", "/feeds/tags/%00.atom", None),
        ("get", "/search?q=%00", None),
        ("get", "/api/stories?tag=%00", None),
        ("get", "/not-alone?q=%00", None),
        ("post", "/login", {"identifier": "\x00", "password": "whatever it is"}),
        ("post", "/register", {"pseudonym": "ab\x00cd", "email": "a\x00b@example.com", "password": "x" * 12}),
        ("post", "/reset", {"email": "a\x00@example.com"}),
    ],
)
def test_a_nul_byte_anywhere_is_never_a_server_error(client, method, path, data):
    """PostgreSQL refuses NUL in text: a NUL in a URL or form is bad input (4xx or the page), never a 500."""
    response = getattr(client, method)(path, data=data) if data else getattr(client, method)(path)
    assert response.status_code < 500, (path, response.status_code)
