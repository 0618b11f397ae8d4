"""Where "you're not alone" shows: the story page panel, the compose panel's API, the JSON API and /not-alone."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, jsonify, render_template, request
from flask_login import current_user
from werkzeug.wrappers import Response

from forum import fragments
from forum.extensions import db, limiter
from forum.models import Story
from forum.params import bounded_int
from forum.similar import feedback, store
from forum.stories.queries import visible_stories
from forum.text import bounded_text
from forum.visibility import story_hidden

bp = Blueprint("similar", __name__)
MAX_TEXT = 20_000
# What a text query hands the embedder: its opening, runs of one character cut to three (the model reads
# about 1,000 characters anyway; a draft's opening says what it is about).
QUERY_CHARS = 2_000
TEXT_QUERY_LIMITS = "30 per minute;300 per hour"
OWN_RECENT_STORIES = 5  # her stories considered for /not-alone (bounds its work)
MEMBER_K = 8  # similar stories taken from each of them


def _clamp_k(raw: Any, default: int) -> int:
    return bounded_int(raw, default, 1, 20)


def _payload(story_id: int | None, matches: list[store.Match]) -> dict[str, Any]:
    return {
        "story": story_id,
        "similar": [
            {"id": m.story.id, "title": m.story.title or "", "score": round(m.score, 4)} for m in matches
        ],
    }


def similar_panel(story: Story, k: int = 5) -> dict[str, Any]:
    """The closest stories, how many parents shared something similar and the member's own verdicts on
    them (only ever hers), for the story page."""
    try:
        neighbours = kept_neighbours(story, k)
        if neighbours is None:
            return {"matches": [], "count": 0, "verdicts": {}}
        matches, count = store.panel_matches(story, neighbours, current_user, k)
        verdicts = feedback.verdicts_for(current_user, story, [m.story.id for m in matches])
        return {"matches": matches, "count": count, "verdicts": verdicts}
    except Exception:  # noqa: BLE001 - the panel is a kindness, never a reason for an error page
        return {"matches": [], "count": 0, "verdicts": {}}


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
    """The story page panel's candidates and count of close parents (store.story_neighbours), kept."""
    if story.embedding is None:  # a story posted moments ago: its page computes a vector for itself
        return store.story_neighbours(story, k)
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
    story = db.session.scalar(visible_stories().where(Story.id == story_id))
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
    matches: list[store.Match] = []
    own: list[Story] = []
    if text.strip():
        matches = store.similar_to_text(bounded_text(text, QUERY_CHARS), current_user, 10)
    elif current_user.is_authenticated:
        own = list(
            db.session.scalars(
                visible_stories()
                .where(Story.author_id == current_user.id)
                .order_by(Story.created_at.desc())
                .limit(OWN_RECENT_STORIES)
            )
        )
        matches = _merge_for_member(own)
    return render_template("similar/not_alone.html", matches=matches, query=text, own=own)


def _merge_for_member(own: list[Story]) -> list[store.Match]:
    """Similar stories to each recent story of theirs, best first; stories with updates first among near-equals.
    Each story's candidates come kept from the index; one query says which of them she may be offered, and
    only the few each list can show are read whole."""
    per_story = kept_candidates(own, MEMBER_K)
    allowed = store.offerable_ids(sorted({i for found in per_story.values() for i, _ in found}), current_user)
    depth = store.shown_depth(MEMBER_K)
    tops = {
        sid: [(i, score) for i, score in found if i in allowed][:depth] for sid, found in per_story.items()
    }
    stories = store.candidate_stories(sorted({i for top in tops.values() for i, _ in top}), current_user)
    best: dict[int, store.Match] = {}
    for story in own:
        for match in store.matches_among(tops[story.id], stories, MEMBER_K, {story.id}):
            if match.story.id not in best or best[match.story.id].score < match.score:
                best[match.story.id] = match
    ranked = sorted(
        best.values(),
        key=lambda m: (round(m.score, 1) + (0.05 if m.story.update_count else 0), m.story.created_at),
        reverse=True,
    )
    return ranked[:15]
