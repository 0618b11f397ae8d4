"""`flask similar build-index`: a new host builds its approximate-index files from the stored vectors before
its workers start, and the workers then map them instead of building them in a request."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from flask import Flask

from forum.extensions import db
from forum.models import SiteSetting, Status
from forum.similar import ann, engine, store, worker
from forum.stories import lifecycle, services
from tests.factories import make_user

RNG = np.random.default_rng(3)


def unit() -> np.ndarray:
    vector = RNG.standard_normal(engine.model_spec().dimensions).astype(np.float32)
    return vector / np.linalg.norm(vector)


@pytest.fixture
def stories(app: Flask):
    app.extensions.pop("similar_index", None)
    folder = Path(app.instance_path) / "similar-index"  # the app (and its instance folder) outlives a test
    shutil.rmtree(folder, ignore_errors=True)
    writer = make_user(pseudonym="Builder")
    made = []
    for i in range(6):
        story = services.publish_story(writer, title=f"Morning {i}", body=f"Tears at the gate, day {i}.")
        story.embedding = engine.to_bytes(unit())
        made.append(story)
    store.record_model(store.current_model())
    db.session.commit()
    lifecycle.set_status(made[-1], Status.HIDDEN.value)
    lifecycle.commit()
    yield made
    app.extensions.pop("similar_index", None)
    shutil.rmtree(folder, ignore_errors=True)


def build_index(app: Flask, *args: str):
    return app.test_cli_runner().invoke(args=["similar", "build-index", *args])


def test_build_index_writes_the_files_that_workers_then_map(app, stories, monkeypatch):
    result = build_index(app)
    assert result.exit_code == 0, result.output
    directory = Path(app.instance_path) / "similar-index"
    meta = ann.read_meta(directory)
    assert meta is not None and meta["count"] == 5 and meta["model"] == store.current_model().version
    assert "exact index" in result.output  # 5 stories: below the threshold, and it says so

    def no_build(*_args, **_kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("a worker built the files the command had built")

    monkeypatch.setattr(ann, "build", no_build)
    monkeypatch.setitem(app.config, "SIMILAR_ANN_THRESHOLD", 1)
    app.extensions.pop("similar_index", None)  # a worker started after the command
    index = store.worker_index()
    index.refresh(force=True)
    assert isinstance(index.index, ann.MappedIndex)
    assert index.index.meta["generation"] == meta["generation"]
    published = {s.id for s in stories[:-1]}
    assert {i for i, _ in index.index.search(unit(), 10)} == published
    assert stories[-1].id not in index.index

    again = build_index(app)  # current files: nothing is built
    assert again.exit_code == 0 and "is current" in again.output


def test_build_index_force_writes_a_new_generation(app, stories):
    assert build_index(app).exit_code == 0
    first = ann.read_meta(Path(app.instance_path) / "similar-index")
    result = build_index(app, "--force")
    assert result.exit_code == 0, result.output
    second = ann.read_meta(Path(app.instance_path) / "similar-index")
    assert first is not None and second is not None and second["generation"] != first["generation"]
    assert not list((Path(app.instance_path) / "similar-index").glob(f"{first['generation']}.*"))


def test_build_index_refuses_another_models_vectors(app, stories):
    db.session.get(SiteSetting, worker.MODEL_SETTING).value = "some-other-model/onnx-fp32/000000000000"
    db.session.commit()
    result = build_index(app)
    assert result.exit_code != 0 and "flask similar rebuild" in result.output
    assert ann.read_meta(Path(app.instance_path) / "similar-index") is None
