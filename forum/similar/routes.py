"""Where "you're not alone" shows: the story page panel, the compose panel's API, the JSON API and /not-alone."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, jsonify, render_template, request
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy.orm import undefer
from werkzeug.wrappers import Response

from forum import fragments, memberpages
from forum.database import KeptForRequest, rows_text
from forum.extensions import db, limiter
from forum.feeds import queries as feed_queries
from forum.feeds.cards import Card, CardStory, cards_from_rows
from forum.models import Story, User
from forum.params import bounded_int
from forum.similar import feedback, learning, store
from forum.stories.queries import visible_stories
from forum.text import bounded_text
from forum.visibility import note_modes, story_hidden

bp = Blueprint("similar", __name__)
MAX_TEXT = 20_000
# What a text query hands the embedder: its opening, runs of one character cut to three (the model reads
# about 1,000 characters anyway; a draft's opening says what it is about).
QUERY_CHARS = 2_000
TEXT_QUERY_LIMITS = "30 per minute;300 per hour"
OWN_RECENT_STORIES = 5  # her stories considered for /not-alone (bounds its work)
MEMBER_K = 8  # similar stories taken from each of them
NOT_ALONE_SHOWN = 15


def _clamp_k(raw: Any, default: int) -> int:
    return bounded_int(raw, default, 1, 20)


def _payload(story_id: int | None, matches: list[store.Match]) -> dict[str, Any]:
    return {
        "story": story_id,
        "similar": [
            {"id": m.story.id, "title": m.story.title or "", "score": round(m.score, 4)} for m in matches
        ],
    }


class Verdicts(dict[int, str]):
    """Her own verdicts by match id, and each feedback button's state as the template writes it."""

    def want(self, match_id: int, value: str) -> str:
        return "" if self.get(match_id) == value else value  # pressing her answer again takes it back

    def on_class(self, match_id: int, value: str) -> str:
        return " is-on" if self.get(match_id) == value else ""

    def pressed(self, match_id: int, value: str) -> str:
        return "true" if self.get(match_id) == value else "false"


VERDICT_VALUES = ("helped", "not-like-mine")


class SlottedVerdicts(Verdicts):
    """Slots where the reader's verdict states go, in a panel rendered to be kept."""

    def want(self, match_id: int, value: str) -> str:
        return fragments.state_slots(f"{match_id}{value}")[0]

    def on_class(self, match_id: int, value: str) -> str:
        return fragments.state_slots(f"{match_id}{value}")[1]

    def pressed(self, match_id: int, value: str) -> str:
        return fragments.state_slots(f"{match_id}{value}")[2]


@dataclass
class KeptPanel:
    """The story page's panel as every member sees it with these matches (kept, forum.fragments), with slots
    for the reader's own verdicts and her CSRF token."""

    story_id: int
    version: str
    match_ids: list[int]
    html: str | None = None

    def slotted(self) -> SlottedVerdicts:
        return SlottedVerdicts()

    def _values(self, verdicts: Verdicts, token: str) -> dict[str, str]:
        values = {"t": str(escape(token))}
        for match_id in self.match_ids:
            for value in VERDICT_VALUES:
                values.update(
                    fragments.state_values(
                        f"{match_id}{value}",
                        verdicts.want(match_id, value),
                        verdicts.on_class(match_id, value),
                        verdicts.pressed(match_id, value),
                    )
                )
        return values

    def show(self, verdicts: Verdicts, token: str) -> Markup:
        # The values are fixed words or the escaped token.
        return fragments.fill(self.html or "", self._values(verdicts, token))

    def keep(self, html: Markup, verdicts: Verdicts, token: str) -> Markup:
        self.html = fragments.slotted(str(html), token, "t")
        fragments.put("similar-html", self.story_id, self.version, self.html)
        return self.show(verdicts, token)


@dataclass
class Shown:
    story: Any  # a CardStory (plain row) on members' panels, a Story elsewhere
    score: float


def _no_panel() -> dict[str, Any]:
    return {"matches": [], "count": 0, "verdicts": Verdicts(), "kept": None}


def similar_panel(story: Story, k: int = 5) -> dict[str, Any]:
    """The closest stories, how many parents shared something similar and the member's own verdicts on
    them (only ever hers), for the story page."""
    try:
        neighbours = kept_neighbours(story, k)
        if neighbours is None:
            return _no_panel()
        if current_user.is_authenticated and learning.active_ranker() is None:
            return _member_panel(story, neighbours, k)
        matches, count = store.panel_matches(story, neighbours, current_user, k)
        verdicts = Verdicts(feedback.verdicts_for(current_user, story, [m.story.id for m in matches]))
        return {"matches": matches, "count": count, "verdicts": verdicts, "kept": None}
    except Exception:  # noqa: BLE001 - the panel is a kindness, never a reason for an error page
        return _no_panel()


def _member_panel(story: Story, neighbours: store.Neighbours, k: int) -> dict[str, Any]:
    """A member's panel from plain rows, kept whole once rendered (found: only her verdicts are read): the card
    columns of the candidates she may be offered, the shown ones' tags and her verdicts, three statements.
    (With a learned re-ranking in use the stories are loaded whole for it, as before.)"""
    keeping = memberpages.kept_rendering()
    rows = {
        row.id: row
        for row in db.session.execute(
            sa.select(*feed_queries.CARD_COLUMNS)
            .outerjoin(User, User.id == Story.author_id)
            .where(
                Story.id.in_([i for i, _ in neighbours.found]),
                *store.offerable_conditions(current_user, her_own_too=keeping),
            )
        )
    }
    if keeping:
        # The page is kept for other readers too (forum.stories.kept_page): not when her own stories, never
        # offered to her, would have been among those it lists; never served to the authors it lists.
        offered = [i for i, _ in neighbours.found if i in rows][:k]
        if any(rows[i].author_id == current_user.id for i in offered):
            memberpages.not_kept()
        rows = {i: row for i, row in rows.items() if row.author_id != current_user.id}
    top = [(i, score) for i, score in neighbours.found if i in rows][:k]
    if keeping:
        memberpages.note_authors(rows[i].author_id for i, _ in top)
    if not top:
        return _no_panel()
    tags = feed_queries.tag_names([i for i, _ in top])
    matches = [Shown(CardStory.from_row(rows[i], tags[i]), score) for i, score in top]
    count = store.panel_count(story, [m.story for m in matches], neighbours.close_parents)
    shown = [m.story.id for m in matches]
    verdicts = Verdicts(feedback.verdicts_for(current_user, story, shown))
    kept = None
    if fragments.enabled():
        ver = fragments.version(story.id, k, count, [(tuple(rows[i]), tags[i]) for i in shown])
        kept = KeptPanel(story.id, ver, shown)
        kept.html = fragments.get_many("similar-html", {story.id: ver}).get(story.id)
    if kept is None or kept.html is None:  # to be rendered: the shown stories' bodies, for their excerpts
        bodies = feed_queries.story_bodies(shown)
        for match in matches:
            match.story.body = bodies.get(match.story.id, match.story.body)
    return {"matches": matches, "count": count, "verdicts": verdicts, "kept": kept}


# What the index answers for a story is the same for every viewer until the story's vector or the index changes:
# it is kept (forum.fragments: this worker, and Redis when shared) under the story's id and a version of both,
# and each viewer's filters (blocks, mutes, her own stories) apply to it at each request, in one query.
def _index_version(story: Story, *settings: Any) -> str:
    return fragments.version(
        story.embedding,
        story.status,
        story.author_id,
        store.index_state(),
        store.current_model().version,
        settings,
    )


def kept_neighbours(story: Story, k: int) -> store.Neighbours | None:
    """The story page panel's candidates and count of close parents (store.story_neighbours), kept. A story
    posted moments ago, whose vector is not stored yet, has its page's vector computed once and kept too: the
    version changes when the similar.embed job stores the vector."""
    ver = _index_version(story, "panel", k)
    found = fragments.get_many("similar-panel", {story.id: ver}).get(story.id)
    if found is not None:
        data = json.loads(found)
        return None if data is None else store.Neighbours([(i, s) for i, s in data["found"]], data["close"])
    neighbours = store.story_neighbours(story, k)
    kept = None if neighbours is None else {"found": neighbours.found, "close": neighbours.close_parents}
    fragments.put("similar-panel", story.id, ver, json.dumps(kept))
    return neighbours


def kept_candidates(stories: list[Story], k: int) -> dict[int, list[tuple[int, float]]]:
    """Story id -> the index's candidates for it (store.candidates), kept; one cache round trip."""
    versions = {s.id: _index_version(s, "candidates", k) for s in stories if s.embedding is not None}
    kept = fragments.get_many("similar-candidates", versions)
    found: dict[int, list[tuple[int, float]]] = {}
    for story in stories:
        if story.id in kept:
            found[story.id] = [(i, score) for i, score in json.loads(kept[story.id])]
            continue
        vector = store.stored_vector(story.embedding, store.current_model())
        found[story.id] = store.candidates(vector, k, {story.id}) if vector is not None else []
        if story.id in versions:
            fragments.put("similar-candidates", story.id, versions[story.id], json.dumps(found[story.id]))
    return found


@bp.get("/api/stories/<int:story_id>/similar")
def story_similar(story_id: int) -> Response | tuple[Response, int]:
    """GET /api/stories/<id>/similar?k=5 — published stories closest to a published story."""
    story = db.session.scalar(visible_stories().where(Story.id == story_id).options(undefer(Story.embedding)))
    if story is None or story_hidden(story, current_user):
        return jsonify(error="Not found", message="No published story has this id."), 404
    matches = store.similar_to_story(story, current_user, _clamp_k(request.args.get("k"), 5))
    return jsonify(_payload(story.id, matches))


def _has_query() -> bool:
    return bool((request.args.get("q") or "").strip())


@bp.post("/api/similar")
@limiter.limit(TEXT_QUERY_LIMITS)
def text_similar() -> Response | tuple[Response, int]:
    """POST /api/similar {"text": ..., "k": 3} — stories close to what is being written."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("text"), str):
        return jsonify(error="Bad request", message='Send JSON like {"text": "what happened", "k": 3}.'), 400
    text = data["text"]
    if len(text) > MAX_TEXT:
        return jsonify(error="Too long", message=f"Send at most {MAX_TEXT:,} characters."), 400
    matches = store.similar_to_text(bounded_text(text, QUERY_CHARS), current_user, _clamp_k(data.get("k"), 3))
    if request.args.get("format") == "html":
        return jsonify(
            _payload(None, matches) | {"html": render_template("similar/_matches.html", matches=matches)}
        )
    return jsonify(_payload(None, matches))


@bp.get("/not-alone")
@limiter.limit(TEXT_QUERY_LIMITS, exempt_when=lambda: not _has_query())
def not_alone() -> str:
    """A member's feed of stories like their own; for visitors, stories like what they describe."""
    text = (request.args.get("q") or "")[:QUERY_CHARS]
    matches: list[Any] = []
    own: list[Story] = []
    cards: list[Card] | None = None
    if text.strip():
        matches = store.similar_to_text(bounded_text(text, QUERY_CHARS), current_user, 10)
    elif current_user.is_authenticated:
        own = list(
            db.session.scalars(
                visible_stories()
                .where(Story.author_id == current_user.id)
                .order_by(Story.created_at.desc())
                .limit(OWN_RECENT_STORIES)
                .options(undefer(Story.embedding))  # their candidates' versions and queries read it
            )
        )
        if learning.active_ranker() is None:
            cards = _cards_for_member(own)
        else:
            matches = _merge_for_member(own)
    return render_template("similar/not_alone.html", matches=matches, cards=cards, query=text, own=own)


def kept_page_version() -> str | None:
    """What a member's /not-alone shows of hers (forum.memberpages keeps it per member under this and the page
    cache's generation, which moves with every post elsewhere): her recent stories and their vectors
    (OWN_RECENT_TEXT, read with her sign-in), and her view settings. None (rendered as usual) with a text
    query, or with a learned re-ranking in use."""
    if request.args or learning.active_ranker() is not None:
        return None
    own = OWN_RECENT_TEXT_KEPT.get_or_read(current_user.id, _OWN_RECENT_TEXT_OF, {"me": current_user.id})
    return memberpages.view_settings_digest(own or "")


# Her recent stories as one text (forum.database.rows_text), correlated to her users row so that her sign-in
# statement reads it on this page (forum.auth.sessions.read_with_sign_in); built once.
_OWN_RECENT_IDS = (
    visible_stories()
    .with_only_columns(Story.id)
    .where(Story.author_id == User.id)
    .order_by(Story.created_at.desc())
    .limit(OWN_RECENT_STORIES)
    .correlate(User)
)
OWN_RECENT_TEXT = rows_text(
    (Story.id, Story.edited_at, Story.embedding.is_not(None)), Story.id.in_(_OWN_RECENT_IDS)
)
OWN_RECENT_TEXT_KEPT = KeptForRequest(Story, attribute="_village_own_recent")
_OWN_RECENT_TEXT_OF = sa.select(OWN_RECENT_TEXT).where(User.id == sa.bindparam("me", type_=sa.Integer))


def _best_first(per_story: dict[int, list[Any]], key: Any) -> list[Any]:
    """Her stories' lists merged: each match once at its best score, best first; stories with updates first
    among near-equals (key: a match's (score, update_count, created_at))."""
    best: dict[int, Any] = {}
    for found in per_story.values():
        for match in found:
            score, _, _ = key(match)
            if match.id not in best or key(best[match.id])[0] < score:
                best[match.id] = match
    ranked = sorted(
        best.values(),
        key=lambda m: (round(key(m)[0], 1) + (0.05 if key(m)[1] else 0), key(m)[2]),
        reverse=True,
    )
    return ranked[:NOT_ALONE_SHOWN]


@dataclass
class _Candidate:
    id: int
    score: float
    row: Any


def _cards_for_member(own: list[Story]) -> list[Card]:
    """Her /not-alone as story cards, from kept parts: each of her stories' candidates kept from the index,
    one query of the card columns of those she may be offered, one of the shown ones' tags; each card kept
    (forum.feeds.cards, shared with the feed pages) and only missing ones rendered."""
    per_story = kept_candidates(own, MEMBER_K)
    rows = {
        row.id: row
        for row in db.session.execute(
            sa.select(*feed_queries.CARD_COLUMNS, Story.update_count)
            .outerjoin(User, User.id == Story.author_id)
            .where(
                Story.id.in_(sorted({i for found in per_story.values() for i, _ in found})),
                *store.offerable_conditions(current_user),
            )
        )
    }
    found = {
        sid: [_Candidate(i, score, rows[i]) for i, score in candidates if i in rows][:MEMBER_K]
        for sid, candidates in per_story.items()
    }
    shown = _best_first(found, lambda c: (c.score, c.row.update_count, c.row.created_at))
    tags = feed_queries.tag_names([c.id for c in shown])
    return cards_from_rows((c.row for c in shown), tags, note_modes(current_user), current_user.id)


def _merge_for_member(own: list[Story]) -> list[store.Match]:
    """Similar stories to each recent story of theirs as whole stories (with a learned re-ranking in use,
    which reads them): each story's candidates kept from the index, one query of which she may be offered,
    and only the few each list can show read whole."""
    per_story = kept_candidates(own, MEMBER_K)
    allowed = store.offerable_ids(sorted({i for found in per_story.values() for i, _ in found}), current_user)
    depth = store.shown_depth(MEMBER_K)
    tops = {
        sid: [(i, score) for i, score in found if i in allowed][:depth] for sid, found in per_story.items()
    }
    stories = store.candidate_stories(sorted({i for top in tops.values() for i, _ in top}), current_user)
    lists = {story.id: store.matches_among(tops[story.id], stories, MEMBER_K, {story.id}) for story in own}
    ranked = _best_first(
        {sid: [_MatchById(m) for m in found] for sid, found in lists.items()},
        lambda m: (m.match.score, m.match.story.update_count, m.match.story.created_at),
    )
    return [m.match for m in ranked]


class _MatchById:
    def __init__(self, match: store.Match) -> None:
        self.match, self.id = match, match.story.id
