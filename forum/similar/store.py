"""The database side of similar stories: vectors stored with each story, a per-worker index kept fresh,
and results filtered to what the viewer may see."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import selectinload

from forum import pagecache
from forum.extensions import db
from forum.jobs import queue as jobs
from forum.models import SiteSetting, Status, Story, utcnow
from forum.similar import engine, learning
from forum.similar.worker import (  # noqa: F401 - the index's names, used through store elsewhere
    MODEL_SETTING,
    WorkerIndex,
    index_state,
    install_stamp,
    mark_vector_changed,
    stored_model,
    stored_vector,
    worker_index,
)
from forum.stories import hooks
from forum.stories.queries import visible_stories
from forum.text import bounded_text
from forum.visibility import story_filters

# What a story hands the engine: its whole body (a story's maximum), runs of one character cut to three.
STORY_CHARS = 20_000

OVERFETCH = 4
# Query expansion: add the two nearest stories' vectors to the query before the real search. Stories that
# share an experience pull each other in (dev set P@5 0.53 -> 0.56; the gain held on each half separately).
EXPAND_WITH = 2


def current_model() -> engine.ModelSpec:
    """The sentence model this app is configured for (SIMILAR_MODEL)."""
    return engine.model_spec(current_app.config.get("SIMILAR_MODEL"))


def embedder() -> engine.Embedder:
    """This process's embedder for the configured model."""
    return engine.get_embedder(current_model().name)


# Vectors of two models (or of one model's int8 and fp32 forms) never share an index: after a change of
# SIMILAR_MODEL the index stays empty until `flask similar rebuild` has recomputed every vector and recorded
# the new version (the site setting MODEL_SETTING).
def record_model(spec: engine.ModelSpec, replace: bool = False) -> None:
    """Record that the stored vectors come from `spec` (only if nothing is recorded, unless `replace`)."""
    row = db.session.get(SiteSetting, MODEL_SETTING)
    if row is None:
        db.session.add(SiteSetting(key=MODEL_SETTING, value=spec.version))
    elif replace:
        row.value = spec.version


@dataclass
class Match:
    """A similar story and how close it is (cosine similarity)."""

    story: Story
    score: float


def excluded_author_ids(viewer: Any) -> set[int]:
    """Authors whose stories this viewer never sees in "you're not alone": their own. (Blocks are applied by
    story_filters, which never filters an anonymous story by who wrote it.)"""
    if not getattr(viewer, "is_authenticated", False):
        return set()
    return {viewer.id}


def story_vector(story: Story) -> np.ndarray:
    """Compute the vector of a story from its title, whole body and tags."""
    text = engine.story_text(story.title, bounded_text(story.body, STORY_CHARS), [t.name for t in story.tags])
    return embedder().embed([text])[0]


def embed_story(story: Story) -> None:
    """Store a story's vector and put it in this process's index if it has one (others, and this one at its
    next refresh, pick it up by polling). A jobs worker or a command has none and builds none: an index there
    would only grow, never asked."""
    vector = story_vector(story)
    story.embedding = engine.to_bytes(vector)
    record_model(current_model())
    db.session.commit()
    index = current_app.extensions.get("similar_index")
    if index is not None and story.status == Status.PUBLISHED.value:
        index.index.add([story.id], vector[None, :])


def embed_many(story_ids: list[int], batch: int = 64, progress: Any = None) -> int:
    """Compute and store vectors for these stories in batches; returns how many were embedded."""
    model = embedder()
    record_model(current_model())
    done = 0
    for start in range(0, len(story_ids), batch):
        stories = list(
            db.session.scalars(
                sa.select(Story)
                .where(Story.id.in_(story_ids[start : start + batch]))
                .options(selectinload(Story.tags))
            )
        )
        vectors = model.embed(
            [
                engine.story_text(s.title, bounded_text(s.body, STORY_CHARS), [t.name for t in s.tags])
                for s in stories
            ]
        )
        for story, vector in zip(stories, vectors, strict=True):
            story.embedding = engine.to_bytes(vector)
        db.session.commit()
        done += len(stories)
        if progress is not None:
            progress(len(stories))
    return done


def candidates(
    vector: np.ndarray, k: int, exclude_ids: set[int], nearest: list[tuple[int, float]] | None = None
) -> list[tuple[int, float]]:
    """The index's nearest stories to a vector, after query expansion: (id, score), best first, for any viewer
    (her filters apply afterwards, in matches_among)."""
    index = worker_index()
    index.refresh()
    wanted = k * OVERFETCH + len(exclude_ids)
    if nearest is None:
        nearest = index.index.search(vector, EXPAND_WITH, frozenset(exclude_ids))
    nearest = nearest[:EXPAND_WITH]
    if nearest:
        expanded = vector + index.index.vectors([i for i, _ in nearest]).mean(0)
        vector = expanded / max(float(np.linalg.norm(expanded)), 1e-12)
    return index.index.search(vector, wanted, frozenset(exclude_ids))


def offerable_conditions(viewer: Any, *, her_own_too: bool = False) -> list[Any]:
    """SQL conditions on Story for what this viewer may be offered: published, not hidden from her by her
    blocks, mutes or content notes, never her own (unless her_own_too: the caller leaves them out itself)."""
    conditions = [Story.status == Status.PUBLISHED.value, *story_filters(viewer)]
    banned_authors = set() if her_own_too else excluded_author_ids(viewer)
    if banned_authors:
        conditions.append(sa.or_(Story.author_id.is_(None), Story.author_id.not_in(banned_authors)))
    return conditions


def offerable_ids(ids: list[int], viewer: Any) -> set[int]:
    """Which of these stories this viewer may be offered: one query of ids, so that only the few shown are
    then loaded whole (candidate_stories)."""
    if not ids:
        return set()
    return set(
        db.session.scalars(sa.select(Story.id).where(Story.id.in_(ids), *offerable_conditions(viewer)))
    )


def shown_depth(k: int) -> int:
    """How far down the candidates a list of k can reach (the learned re-ranking may look past the k)."""
    return k + int(current_app.config.get("SIMILAR_LEARNED_REACH", 0))


def candidate_stories(ids: list[int], viewer: Any) -> dict[int, Story]:
    """The published stories among these ids that this viewer may be offered (one query, tags and authors)."""
    if not ids:
        return {}
    banned_authors = excluded_author_ids(viewer)
    query = (
        visible_stories()
        .where(Story.id.in_(ids), *story_filters(viewer))
        .options(selectinload(Story.tags), selectinload(Story.author))
    )
    if banned_authors:
        query = query.where(sa.or_(Story.author_id.is_(None), Story.author_id.not_in(banned_authors)))
    return {s.id: s for s in db.session.scalars(query)}


def matches_among(
    found: list[tuple[int, float]], stories: dict[int, Story], k: int, exclude_ids: set[int]
) -> list[Match]:
    """The candidates the viewer may be offered (`stories`, from candidate_stories), best first."""
    # The learned re-ranking (forum.similar.learning) reorders a story's candidates once one is trained.
    return learning.rerank([Match(stories[i], score) for i, score in found if i in stories], exclude_ids, k)[
        :k
    ]


def _matches(
    vector: np.ndarray,
    viewer: Any,
    k: int,
    exclude_ids: set[int],
    nearest: list[tuple[int, float]] | None = None,
) -> list[Match]:
    found = candidates(vector, k, exclude_ids, nearest)
    if not found:
        return []
    return matches_among(found, candidate_stories([c[0] for c in found], viewer), k, exclude_ids)


def similar_to_story(story: Story, viewer: Any = None, k: int = 5) -> list[Match]:
    """Published stories closest to this one (never itself, never the viewer's own, never one that would
    point at an anonymous author: not_paired_with)."""
    vector = stored_vector(story.embedding, current_model())
    if vector is None:
        return []
    return _matches(vector, viewer, k, not_paired_with(story))


def not_paired_with(story: Story) -> set[int]:
    """The story and its author's stories that may not be listed beside it: on an anonymous story all of hers,
    on a named one her anonymous ones. Her own stories are often the closest texts there are (the same child,
    the same nursery), so listing one beside the other would match the anonymous story to her name."""
    if story.author_id is None:
        return {story.id}
    query = sa.select(Story.id).where(Story.author_id == story.author_id, Story.id != story.id)
    if not story.anonymous:
        query = query.where(Story.anonymous.is_(True))
    return {story.id, *db.session.scalars(query)}


def similar_to_text(text: str, viewer: Any = None, k: int = 3) -> list[Match]:
    """Published stories closest to a text being written (a draft or a "what happened today?")."""
    if not text.strip():
        return []
    return _matches(embedder().embed([text])[0], viewer, k, set())


def _page_vector(story: Story) -> np.ndarray | None:
    """The story's stored vector; for a story posted moments ago whose similar.embed job has not run yet, one
    computed for this page alone (the job stores it), so the writer's landing leads with "you're not alone"."""
    vector = stored_vector(story.embedding, current_model())
    fresh = story.created_at is not None and story.created_at > utcnow() - timedelta(seconds=FRESH_SECONDS)
    if vector is None and fresh and current_app.config.get("SIMILAR_EMBED_ON_WRITE", True):
        vector = story_vector(story)
    return vector


@dataclass
class Neighbours:
    """A story's panel as the index gives it, the same for every viewer: its candidates (after expansion) and
    how many parents other than its author wrote a story within the panel's threshold."""

    found: list[tuple[int, float]]
    close_parents: int


def story_neighbours(story: Story, k: int = 5, threshold: float = 0.3, limit: int = 200) -> Neighbours | None:
    """The viewer-independent part of the story page's panel (None: the story has no vector). The count
    (stories within `threshold`, centred cosine: 0.3 kept about two in three same-theme stories in the dev
    set) and the query expansion share one scan of the index."""
    vector = _page_vector(story)
    if vector is None:
        return None
    index = worker_index()
    index.refresh()
    excluded = not_paired_with(story)
    raw = index.index.search(vector, limit, frozenset(excluded))
    close = [i for i, score in raw if score >= threshold]
    return Neighbours(candidates(vector, k, excluded, nearest=raw), _count_parents(close, story))


def panel_matches(story: Story, neighbours: Neighbours, viewer: Any, k: int = 5) -> tuple[list[Match], int]:
    """The panel for this viewer: the closest stories she may be offered, and how many parents shared
    something similar."""
    allowed = offerable_ids([i for i, _ in neighbours.found], viewer)
    top = [(i, score) for i, score in neighbours.found if i in allowed][: shown_depth(k)]
    matches = matches_among(top, candidate_stories([i for i, _ in top], viewer), k, {story.id}) if top else []
    return matches, panel_count(story, [m.story for m in matches], neighbours.close_parents)


def panel_count(story: Story, shown: list[Any], close_parents: int) -> int:
    """ "N parents shared something similar": the parents of the shown stories (any object with id and
    author_id), never the story's author, or the index's count of close parents if that is more."""
    parents = {_parent(s) for s in shown if story.author_id is None or s.author_id != story.author_id}
    return max(len(parents), close_parents)


def similar_with_count(
    story: Story, viewer: Any = None, k: int = 5, threshold: float = 0.3, limit: int = 200
) -> tuple[list[Match], int]:
    """The story page's panel: the closest stories, and how many parents shared something similar."""
    neighbours = story_neighbours(story, k, threshold, limit)
    if neighbours is None:
        return [], 0
    return panel_matches(story, neighbours, viewer, k)


def _parent(story: Any) -> int:
    # A story whose author deleted the account ("a former member") counts as one parent of its own.
    return story.author_id if story.author_id is not None else -story.id


def _count_parents(story_ids: list[int], story: Story) -> int:
    """How many parents wrote these published stories: a parent with three similar stories is one parent, and
    the story's own author is never one of the "others". One COUNT; no identity leaves the database."""
    if not story_ids:
        return 0
    parent = sa.func.coalesce(Story.author_id, -Story.id)
    query = sa.select(sa.func.count(sa.distinct(parent))).where(
        Story.id.in_(story_ids), Story.status == Status.PUBLISHED.value
    )
    if story.author_id is not None:
        query = query.where(Story.author_id.is_distinct_from(story.author_id))
    return int(db.session.scalar(query) or 0)


# How long after posting a story's page computes its vector itself while the embedding job is still waiting.
FRESH_SECONDS = 600


def _embed_posted(story: Story) -> None:
    """The background job after a story is posted or edited: store its vector (a failure, such as a missing
    model, is retried by the job queue and kept for an admin after the last attempt)."""
    if current_app.config.get("SIMILAR_EMBED_ON_WRITE", True):
        embed_story(story)


def _on_visibility_changed(sender: Flask, changes: tuple[hooks.Change, ...] = (), **extra: Any) -> None:
    """A story that left "published" leaves this worker's index; one that came back returns to it (other
    workers and hosts load the change by its vector_updated_at at their next refresh)."""
    index = worker_index(sender)
    back: list[Story] = []
    for change in changes:
        item = change.item
        if not isinstance(item, Story):
            continue
        if change.after != Status.PUBLISHED.value:
            index.index.remove([item.id])
        else:
            back.append(item)
    # Their vectors, deferred on a loaded story, in one statement (an account's stories can come back together).
    unloaded = {story.id for story in back if "embedding" in sa.inspect(story).unloaded}
    read = {i: v for i, v in db.session.execute(_VECTORS_OF, {"ids": sorted(unloaded)})} if unloaded else {}
    for story in back:
        vector = stored_vector(read.get(story.id) if story.id in unloaded else story.embedding, index.spec)
        if vector is not None:
            index.index.add([story.id], vector[None, :])


_VECTORS_OF = sa.select(Story.id, Story.embedding).where(Story.id.in_(sa.bindparam("ids", expanding=True)))


def install() -> None:
    """Keep vectors and the index in step with every story write."""
    install_stamp()
    # A page that shows similar stories is cached under the state of the index it was rendered from.
    pagecache.vary_on(("stories.show", "similar.story_similar", "similar.not_alone"), index_state)
    jobs.after_post("similar.embed", (Story,), on_edit=True)(_embed_posted)
    hooks.post_visibility_changed.connect(_on_visibility_changed, weak=False)
