"""Two hosts on one database (two apps, each with its own worker index and page cache): what one publishes,
approves or hides reaches the other's similar stories at its next refresh, by what each has loaded, and a
visitor's cached answer never outlives the refresh that makes it stale. No sleeps: the refresh clock is
moved by hand."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import numpy as np
import pytest
import sqlalchemy as sa
from flask import Flask
from flask_caching.backends.simplecache import SimpleCache

from forum.extensions import cache, db
from forum.models import Status, Story
from forum.similar import ann, engine, store, worker
from forum.stories import lifecycle, services
from tests.conftest import make_app
from tests.factories import make_user

DIMENSIONS = engine.model_spec().dimensions
RNG = np.random.default_rng(18)
THEME = RNG.standard_normal(DIMENSIONS).astype(np.float32)


def near_theme() -> np.ndarray:
    """A vector close to THEME (a story like the others), different each time."""
    vector = THEME + 0.3 * RNG.standard_normal(DIMENSIONS).astype(np.float32)
    return vector / np.linalg.norm(vector)


def far_away() -> np.ndarray:
    vector = RNG.standard_normal(DIMENSIONS).astype(np.float32)
    return vector / np.linalg.norm(vector)


@pytest.fixture(params=["exact", "approximate"])
def host_b(app: Flask, db_url: str, tmp_path, request) -> Iterator[Flask]:
    """A second host: its own app (and so its own worker index and in-process page cache), same database;
    with the exact index, and with the approximate one (its files in this host's instance folder)."""
    threshold = 1 if request.param == "approximate" else 1_000_000
    other = make_app(tmp_path, db_url, SIMILAR_ANN_THRESHOLD=threshold)
    other.extensions["cache"][cache] = SimpleCache(default_timeout=300)
    app.extensions.pop("similar_index", None)
    yield other
    app.extensions.pop("similar_index", None)
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def store_vector(story: Story, vector: np.ndarray) -> None:
    """What the embedding job does: the vector committed with the story (on host A)."""
    story.embedding = engine.to_bytes(vector)
    store.record_model(store.current_model())
    db.session.commit()


def next_refresh(host: Flask) -> None:
    """Host's worker index at its next periodic (incremental) refresh: the clock moved past the interval."""
    with host.app_context():
        index = store.worker_index()
        index.checked_at -= worker.REFRESH_SECONDS + 1
        index.refresh()


def similar_on(host: Flask, story_id: int) -> list[int]:
    """The ids a visitor on this host gets for a story (through HTTP and the page cache)."""
    response = host.test_client().get(f"/api/stories/{story_id}/similar?k=10")
    assert response.status_code == 200
    return [item["id"] for item in response.get_json()["similar"]]


@pytest.fixture
def site(app: Flask, host_b: Flask) -> list[Story]:
    writer = make_user(pseudonym="HostWriter")
    stories = [
        services.publish_story(
            writer, title=f"Drop-off {i}", body=f"Tears at the nursery gate, morning number {i}."
        )
        for i in range(4)
    ]
    for story in stories:
        store_vector(story, near_theme())
    extra = services.publish_story(writer, title="Potty", body="Puddles everywhere in the house.")
    store_vector(extra, far_away())
    with host_b.app_context():
        index = store.worker_index()
        index.refresh(force=True)
        assert isinstance(index.index, ann.MappedIndex) == (index.ann_threshold == 1)
    return stories


def test_a_vector_committed_after_the_other_hosts_refresh_reaches_it(app, host_b, site):
    late = services.publish_story(
        make_user(pseudonym="Later"), title="New drop-off", body="More tears at the nursery gate."
    )
    next_refresh(host_b)  # it sees the story, but no vector yet (the embedding job has not run)
    assert late.id not in similar_on(host_b, site[0].id)

    store_vector(late, near_theme())
    next_refresh(host_b)
    assert late.id in similar_on(host_b, site[0].id)


def test_approval_and_hiding_on_one_host_show_on_the_other(app, host_b, site):
    held = services.publish_story(
        make_user(pseudonym="Held"), title="Held drop-off", body="Tears at the gate, held for review."
    )
    lifecycle.set_status(held, Status.PENDING.value)
    lifecycle.commit()
    store_vector(held, near_theme())
    next_refresh(host_b)
    assert held.id not in similar_on(host_b, site[0].id)

    lifecycle.set_status(held, Status.PUBLISHED.value)  # a moderator approves it on host A
    lifecycle.commit()
    next_refresh(host_b)
    assert held.id in similar_on(host_b, site[0].id)

    lifecycle.set_status(site[1], Status.HIDDEN.value)
    lifecycle.commit()
    next_refresh(host_b)
    with host_b.app_context():
        assert site[1].id not in store.worker_index().index
    assert site[1].id not in similar_on(host_b, site[0].id)


def test_a_cached_answer_is_replaced_when_the_index_catches_up(app, host_b, site):
    first = similar_on(host_b, site[0].id)
    assert similar_on(host_b, site[0].id) == first  # served from host B's page cache
    newer = services.publish_story(
        make_user(pseudonym="Newer"), title="Gate again", body="Tears at the gate this morning."
    )
    store_vector(newer, near_theme())
    # Host B's cache never heard of the write (its generation did not move), as when its copy was stored
    # under the new generation before its index refreshed: the refresh alone makes the answer current.
    next_refresh(host_b)
    assert newer.id in similar_on(host_b, site[0].id)


@pytest.mark.parametrize("reload", ["forced", "periodic"])
def test_the_hosts_files_are_rebuilt_in_the_background_once_due(app, host_b, site, monkeypatch, reload):
    """A full reload (forced, or the ten-minute one built aside) keeps serving the files that gathered too many
    changes and starts their rebuild; the next full reload maps the new files."""
    with host_b.app_context():
        index = store.worker_index()
        if not isinstance(index.index, ann.MappedIndex):
            pytest.skip("the approximate index only")
        first = index.index.meta["generation"]
    monkeypatch.setattr(worker, "ANN_REBUILD_CHANGES", 0)
    # The rebuild waits for the test's word: how fast it runs beside the reload must not decide what is served.
    may_build = threading.Event()
    build_files = worker.WorkerIndex.build_files

    def build_when_told(self, directory):
        may_build.wait(30)
        return build_files(self, directory)

    monkeypatch.setattr(worker.WorkerIndex, "build_files", build_when_told)
    newer = services.publish_story(
        make_user(pseudonym="Rebuilt"), title="Gate", body="Tears at the gate at noon."
    )
    store_vector(newer, near_theme())
    next_refresh(host_b)  # into the delta: the files are now due for a rebuild
    if reload == "periodic":
        monkeypatch.setattr(worker, "FULL_RELOAD_SECONDS", -1.0)
        next_refresh(host_b)  # the periodic reload starts aside
        with host_b.app_context():
            assert index.reloading is not None
            index.reloading.join()
        next_refresh(host_b)  # adopts the reloaded index, with the rebuild it started
    with host_b.app_context():
        if reload == "forced":
            index.refresh(force=True)
        assert index.index.meta["generation"] == first and index.rebuilding is not None
        may_build.set()
        index.rebuilding.join()
        index.refresh(force=True)
        assert index.index.meta["generation"] != first and index.index._in_base(newer.id)
    assert newer.id in similar_on(host_b, site[0].id)


def test_a_refresh_after_a_bulk_import_reads_only_what_changed_since_the_last_look(
    app, host_b, site, monkeypatch
):
    """Every story stamped long ago within minutes of each other (an import, a rebuild): the next looks read
    nothing again, however close together the stamps are (they used to re-read all within OVERLAP of the
    newest, every five seconds), and a story changed after the last look is still read."""
    long_ago = worker.utcnow() - 10 * worker.OVERLAP
    db.session.execute(sa.update(Story).values(vector_updated_at=long_ago))
    db.session.commit()
    read: list[int] = []
    real_rows = worker.WorkerIndex._rows

    def counted_rows(self, query):  # noqa: ANN001, ANN202
        for row in real_rows(self, query):
            read.append(row[0])
            yield row

    monkeypatch.setattr(worker.WorkerIndex, "_rows", counted_rows)
    with host_b.app_context():
        store.worker_index().refresh(force=True)  # the full load reads every story once
    next_refresh(host_b)
    read.clear()
    next_refresh(host_b)
    assert read == []
    story = site[0]
    store_vector(story, far_away())
    next_refresh(host_b)
    assert story.id in read


def test_the_periodic_full_reload_is_built_aside_and_never_in_the_request(app, host_b, site, monkeypatch):
    """When the full reload is due, the refresh that notices starts it in a background thread and goes on
    serving (and refreshing) the current index; a later refresh swaps the fresh index in, with what changed
    while it was built."""
    threads: list[str] = []
    real_load_all = worker.WorkerIndex._load_all

    def recorded_load_all(self):  # noqa: ANN001, ANN202
        threads.append(threading.current_thread().name)
        real_load_all(self)

    monkeypatch.setattr(worker.WorkerIndex, "_load_all", recorded_load_all)
    with host_b.app_context():
        index = store.worker_index()
        serving = index.index
        index.loaded_at -= worker.FULL_RELOAD_SECONDS + 1
    gate = threading.Event()  # the reload waits here, as a slow one would, so the request can be watched
    real_rows = worker.WorkerIndex._rows

    def slow_rows(self, query):  # noqa: ANN001, ANN202
        if threading.current_thread().name == "similar-index-reload":
            assert gate.wait(10)
        yield from real_rows(self, query)

    monkeypatch.setattr(worker.WorkerIndex, "_rows", slow_rows)
    newer = services.publish_story(
        make_user(pseudonym="Meanwhile"), title="Gate", body="Tears at the gate before lunch."
    )
    store_vector(newer, near_theme())
    next_refresh(host_b)  # the reload is due: started aside; this refresh still loads the change itself
    with host_b.app_context():
        assert threads == ["similar-index-reload"] and index.reloading is not None
        assert index.index is serving and newer.id in index.index
    assert newer.id in similar_on(host_b, site[0].id)

    later = services.publish_story(
        make_user(pseudonym="Later on"), title="Gate", body="Tears at the gate after lunch."
    )
    gate.set()
    index.reloading.join(10)
    store_vector(later, near_theme())  # committed after the fresh index read the table
    next_refresh(host_b)  # the swap, with what changed meanwhile
    with host_b.app_context():
        assert index.index is not serving and index.reloaded is None
        assert newer.id in index.index and later.id in index.index
        assert site[1].id in index.index
    assert threads == ["similar-index-reload"]  # no full load ever ran in the request
    assert later.id in similar_on(host_b, site[0].id)
