"""Stored vectors belong to one model version: another model's vectors never share the index, and
`flask similar rebuild` moves a site from one model to the next."""

from __future__ import annotations

import numpy as np
import pytest

from forum.extensions import db
from forum.models import SiteSetting, Story
from forum.similar import engine, store
from forum.stories import services
from tests.factories import make_user

STORIES = [
    ("Clinging at the door", "My son screams don't leave me and clings to my legs every morning at nursery."),
    ("Sobbing at daycare", "My daughter sobs and holds on to me at the daycare gate when I try to go."),
    ("Potty training", "Three days into potty training and there are puddles everywhere in the house."),
]


pytestmark = pytest.mark.usefixtures("embed_on_write")


@pytest.fixture
def stories(app):
    writer = make_user(pseudonym="VersionWriter")
    return [services.publish_story(writer, title=t, body=b) for t, b in STORIES]


def fresh_index():
    """The index as a newly started worker builds it from the database."""
    from flask import current_app

    current_app.extensions.pop("similar_index", None)
    index = store.worker_index()
    index.refresh(force=True)
    return index


def test_vectors_record_their_model_version(stories):
    assert store.stored_model() == store.current_model().version
    assert len(fresh_index().index) == len(stories)


def test_another_models_vectors_stay_out_until_rebuilt(runner, stories):
    db.session.get(SiteSetting, store.MODEL_SETTING).value = "some-other-model/onnx-fp32/0123456789ab"
    db.session.commit()
    assert len(fresh_index().index) == 0
    assert store.similar_to_story(stories[0]) == []

    result = runner.invoke(args=["similar", "rebuild", "--missing-only"])  # widened to every story
    assert result.exit_code == 0 and "recomputing all of them" in result.output
    assert store.stored_model() == store.current_model().version
    index = fresh_index()
    assert len(index.index) == len(stories)
    assert [m.story.id for m in store.similar_to_story(stories[0], k=1)] == [stories[1].id]


def test_a_vector_of_another_width_is_ignored(stories):
    wide = np.ones(engine.MODELS["mpnet"].dimensions + 1, dtype=np.float32)
    story = db.session.get(Story, stories[2].id)
    story.embedding = engine.to_bytes(wide / np.linalg.norm(wide))
    db.session.commit()
    index = fresh_index()
    assert stories[2].id not in index.index and len(index.index) == len(stories) - 1
    assert store.similar_to_story(story) == []
