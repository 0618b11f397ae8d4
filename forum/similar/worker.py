"""Each worker's index of published story vectors, kept current from the database it shares with every other
worker and host.

What a worker has is tracked by what it has loaded: every story carries `vector_updated_at`, set whenever its
vector is stored or its visibility changes (an ORM listener, below, so every path that writes a story sets it;
a Core UPDATE calls `mark_vector_changed`). A refresh loads the rows changed since the newest change it has
loaded, minus an overlap: a row is stamped when it is flushed and becomes visible when its transaction
commits, so a row stamped a moment before an already-loaded one (a slower transaction, another host's clock
slightly behind) is still found. Published rows with a vector are added (or replaced), every other changed
row is removed. A story whose vector commits after another worker's refresh, a held story once approved and
a story hidden elsewhere all reach every worker within the refresh interval.

Past SIMILAR_ANN_THRESHOLD stories the index is ann.MappedIndex: the host's memory-mapped files plus the rows
changed since they were built.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import sqlalchemy as sa
from flask import Flask, current_app

from forum.extensions import db
from forum.models import SiteSetting, Status, Story, utcnow
from forum.similar import ann, engine
from forum.similar.index import BruteForceIndex, VectorIndex

# Other workers (and hosts) learn about changes by polling the database this often, cheaply.
REFRESH_SECONDS = 5.0
# Everything is loaded again this often, as a safety net, built aside in a background thread (for the
# approximate index: its files mapped again, and rebuilt when too much has changed since they were built).
FULL_RELOAD_SECONDS = 600.0
# How far behind the newest loaded change a refresh looks again (see above).
OVERLAP = timedelta(minutes=2)
# The approximate index's files are rebuilt when this many changes sit in a worker's delta, or after a day.
ANN_REBUILD_CHANGES = 20_000
ANN_REBUILD_SECONDS = 24 * 3600
# The site setting naming the model version the stored vectors come from (see store.record_model).
MODEL_SETTING = "similar_model"
BATCH = 5000


def stored_model() -> str | None:
    """The model version recorded for the stored vectors (None before any was recorded)."""
    row = db.session.get(SiteSetting, MODEL_SETTING)
    return row.value if row is not None else None


def stored_vector(blob: bytes | None, spec: engine.ModelSpec) -> np.ndarray | None:
    """A stored vector, or None when there is none or it has another model's width."""
    if blob is None or len(blob) != 4 * spec.dimensions:
        return None
    return engine.from_bytes(blob)


def mark_vector_changed(story_ids: Iterable[int]) -> None:
    """For a Core UPDATE of stories' vectors or status (the ORM listener sees only ORM writes)."""
    ids = list(story_ids)
    if ids:
        db.session.execute(
            sa.update(Story)
            .where(Story.id.in_(ids))
            .values(vector_updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )


def _stamp(_mapper: Any, _connection: Any, story: Story) -> None:
    state = sa.inspect(story)
    if state.attrs.embedding.history.has_changes() or state.attrs.status.history.has_changes():
        story.vector_updated_at = utcnow()


def install_stamp() -> None:
    """Stamp a story whenever an ORM flush changes its vector or status (registering twice changes nothing)."""
    if not sa.event.contains(Story, "before_update", _stamp):
        sa.event.listen(Story, "before_update", _stamp)


class WorkerIndex:
    """This process's index of published story vectors, refreshed incrementally from the database."""

    def __init__(self, spec: engine.ModelSpec, ann_threshold: int = 250_000, directory: Path | None = None):
        self.spec = spec
        self.ann_threshold = ann_threshold
        self.directory = directory
        self.index: VectorIndex = BruteForceIndex(dimensions=spec.dimensions)
        self.loaded_until: datetime | None = None  # the newest change loaded
        self.recent: dict[int, datetime] = {}  # changes within OVERLAP of it, not applied twice
        # When the last look for changes began (this host's clock): a row committed after it was stamped at
        # most OVERLAP before it, so the next look need not go further back than that.
        self.looked_at: datetime | None = None
        self.stored_model: str | None = None
        self.checked_at = 0.0
        self.loaded_at: float | None = None  # when the last full load ran or was started (monotonic)
        self.lock = threading.Lock()
        self.rebuilding: threading.Thread | None = None
        # The periodic full reload: built aside in this thread, handed over in `reloaded`, swapped in by the
        # next refresh (a request never waits for it).
        self.reloading: threading.Thread | None = None
        self.reloaded: WorkerIndex | None = None

    def state(self) -> str:
        """What this index holds, for a cache key: the newest change loaded and the size."""
        until = self.loaded_until.isoformat() if self.loaded_until else "-"
        return f"{until}/{len(self.index)}"

    def _rows(self, query: sa.Select[Any]) -> Iterator[tuple[int, str, bytes | None, datetime]]:
        yield from db.session.execute(query.execution_options(yield_per=BATCH)).tuples()

    def _seen(self, stamp: datetime) -> None:
        if self.loaded_until is None or stamp > self.loaded_until:
            self.loaded_until = stamp

    def _load_changes(self) -> None:
        """Apply every row changed since the newest change loaded (minus the overlap)."""
        query = sa.select(Story.id, Story.status, Story.embedding, Story.vector_updated_at).order_by(
            Story.vector_updated_at, Story.id
        )
        looking_at = utcnow()
        since = None
        if self.loaded_until is not None:  # else nothing was there at the last look: everything is new
            # Not only OVERLAP behind the newest change: after a bulk import or a rebuild, when every row was
            # stamped within minutes and nothing new came since, that window would read them all again at
            # every refresh (100k vectors every five seconds).
            since = self.loaded_until - OVERLAP
            if self.looked_at is not None:
                since = max(since, self.looked_at - OVERLAP)
            query = query.where(Story.vector_updated_at >= since)
        ids: list[int] = []
        vectors: list[np.ndarray] = []
        gone: list[int] = []
        for story_id, status, blob, stamp in self._rows(query):
            if self.recent.get(story_id) == stamp:
                continue  # applied at an earlier refresh
            self.recent[story_id] = stamp
            self._seen(stamp)
            vector = stored_vector(blob, self.spec) if status == Status.PUBLISHED.value else None
            if vector is None:
                gone.append(story_id)
            else:
                ids.append(story_id)
                vectors.append(vector)
        if gone:
            self.index.remove(gone)
        if ids:
            self.index.add(ids, np.stack(vectors))
        self.looked_at = looking_at
        if self.loaded_until is not None:  # rows stamped before the next look's window are never read again
            horizon = max(self.loaded_until, looking_at) - OVERLAP
            self.recent = {i: s for i, s in self.recent.items() if s >= horizon}

    def _published(self) -> sa.Select[Any]:
        return sa.select(Story.id, Story.status, Story.embedding, Story.vector_updated_at).where(
            Story.status == Status.PUBLISHED.value, Story.embedding.is_not(None)
        )

    def _load_exact(self, count: int) -> None:
        # Sized for what is there and some growth: doubling from small would leave up to half of it unused.
        index = BruteForceIndex(capacity=count + count // 16 + 1024, dimensions=self.spec.dimensions)
        ids: list[int] = []
        vectors: list[np.ndarray] = []
        for story_id, _status, blob, stamp in self._rows(self._published().order_by(Story.id)):
            self._seen(stamp)
            vector = stored_vector(blob, self.spec)
            if vector is not None:
                ids.append(story_id)
                vectors.append(vector)
            if len(ids) >= BATCH:
                index.add(ids, np.stack(vectors))
                ids, vectors = [], []
        if ids:
            index.add(ids, np.stack(vectors))
        self.index = index

    def _batches(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        ids: list[int] = []
        vectors: list[np.ndarray] = []
        for story_id, _status, blob, _stamp in self._rows(self._published().order_by(Story.id)):
            vector = stored_vector(blob, self.spec)
            if vector is not None:
                ids.append(story_id)
                vectors.append(vector)
            if len(ids) >= BATCH:
                yield np.asarray(ids), np.stack(vectors)
                ids, vectors = [], []
        if ids:
            yield np.asarray(ids), np.stack(vectors)

    def _ann_files(self, directory: Path) -> dict[str, Any]:
        """The host's current files: built first when there are none (by one worker, the others waiting);
        when they are only due for a rebuild, used while one worker rebuilds them in the background."""
        meta = ann.read_meta(directory)
        if meta is not None and meta.get("model") == self.spec.version:
            if not self._usable(meta):
                self._rebuild_in_background(directory, str(meta.get("generation")))
            return meta
        with ann.host_lock(directory):
            meta = ann.read_meta(directory)  # another worker may have built them meanwhile
            if meta is not None and meta.get("model") == self.spec.version:
                return meta
            return self.build_files(directory)

    def build_files(self, directory: Path) -> dict[str, Any]:
        """Write a new generation of the host's approximate-index files from the stored vectors (the caller
        holds the host's lock) and return its meta."""
        # Changes from here on have later stamps (less the overlap): the delta loads them.
        until = db.session.scalar(sa.select(sa.func.max(Story.vector_updated_at))) or utcnow()
        current_app.logger.info("Building the similar-stories index files in %s", directory)
        return ann.build(directory, self._batches, self.spec.dimensions, self.spec.version, until)

    def _rebuild_in_background(self, directory: Path, stale: str) -> None:
        if self.rebuilding is not None and self.rebuilding.is_alive():
            return
        app = current_app._get_current_object()  # type: ignore[attr-defined]

        def rebuild() -> None:
            with app.app_context():
                try:
                    with ann.host_lock(directory, wait=False):
                        if (ann.read_meta(directory) or {}).get("generation") == stale:  # nobody else did
                            self.build_files(directory)
                except BlockingIOError:
                    pass  # another worker of this host is rebuilding them
                except Exception:  # noqa: BLE001 - the old files keep serving; the next reload tries again
                    app.logger.exception("Could not rebuild the similar-stories index files")
                finally:
                    db.session.remove()

        self.rebuilding = threading.Thread(target=rebuild, name="similar-index-rebuild", daemon=True)
        self.rebuilding.start()

    def _usable(self, meta: dict[str, Any] | None) -> bool:
        return (
            meta is not None
            and meta.get("model") == self.spec.version
            and time.time() - float(meta.get("built_at", 0)) < ANN_REBUILD_SECONDS
            and not (  # the files this worker maps have gathered too many changes, and nobody rebuilt yet
                isinstance(self.index, ann.MappedIndex)
                and self.index.meta.get("generation") == meta.get("generation")
                and len(self.index.delta) > ANN_REBUILD_CHANGES
            )
        )

    def count_with_vectors(self) -> int:
        query = sa.select(sa.func.count()).select_from(self._published().subquery())
        return int(db.session.scalar(query) or 0)

    def _load_all(self) -> None:
        self.loaded_until, self.recent = None, {}
        # Rows committed after this reading began are stamped at most OVERLAP before it (the ANN path's
        # files were built earlier: their changes are looked for from what they hold).
        self.looked_at = utcnow()
        count = self.count_with_vectors()
        if self.directory is not None and count >= self.ann_threshold:
            meta = self._ann_files(self.directory)
            self.index = ann.open_files(self.directory, meta)
            self.loaded_until, self.looked_at = self.index.built_until, None
            self._load_changes()
        else:
            self.index = BruteForceIndex(dimensions=self.spec.dimensions)  # the old one can go first
            self._load_exact(count)

    def _reload_aside(self) -> None:
        """Start the periodic full reload in a background thread: a fresh index built from the database (at
        100k MPNet vectors, seconds of reading and coding) while this one keeps serving. Memory: both are
        held until the swap, then the old one is freed."""
        if self.reloading is not None and self.reloading.is_alive():
            return
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        fresh = WorkerIndex(self.spec, self.ann_threshold, self.directory)
        fresh.stored_model = self.stored_model
        # _usable reads the served files' delta (too many changes: rebuild); _load_all replaces it.
        fresh.index = self.index

        def reload() -> None:
            with app.app_context():
                try:
                    fresh._load_all()
                    self.reloaded = fresh
                except Exception:  # noqa: BLE001 - the current index keeps serving; the next one tries again
                    app.logger.exception("Could not reload the similar-stories index")
                finally:
                    db.session.remove()
                    engine.release_free_memory()  # the rows fetched to build it

        self.reloading = threading.Thread(target=reload, name="similar-index-reload", daemon=True)
        self.reloading.start()

    def _adopt(self, fresh: WorkerIndex) -> None:
        """Serve a fresh index built aside, once it has loaded what changed while it was built."""
        fresh._load_changes()
        self.index, self.loaded_until = fresh.index, fresh.loaded_until
        self.recent, self.looked_at = fresh.recent, fresh.looked_at
        if fresh.rebuilding is not None and (self.rebuilding is None or not self.rebuilding.is_alive()):
            self.rebuilding = fresh.rebuilding
        engine.release_free_memory()  # the old index

    def refresh(self, force: bool = False) -> None:
        """Load what changed since the last look. Now and then everything is reloaded, built aside in a
        background thread and swapped in by a later refresh; only the first load and a forced one (the
        stored vectors' model changed) run here, in the request."""
        now = time.monotonic()
        if not force and now - self.checked_at < REFRESH_SECONDS:
            return
        with self.lock:
            stored = stored_model()
            if stored != self.stored_model:  # a rebuild finished (here or on another host)
                self.stored_model, force = stored, True
                if stored not in (None, self.spec.version):
                    current_app.logger.warning(
                        "Stored story vectors come from %s, not %s: similar stories are off until "
                        "`flask similar rebuild`",
                        stored,
                        self.spec.version,
                    )
            fresh = self.reloaded  # set once by the reload thread, when it is done
            if fresh is not None:
                self.reloaded = None
            if self.stored_model not in (None, self.spec.version):
                self.index, self.loaded_until = BruteForceIndex(dimensions=self.spec.dimensions), None
            elif force or self.loaded_at is None:
                self._load_all()
                self.loaded_at = now
                engine.release_free_memory()  # the rows fetched to build it
            elif fresh is not None and fresh.stored_model == self.stored_model:
                self._adopt(fresh)
            else:
                if now - self.loaded_at > FULL_RELOAD_SECONDS:
                    self._reload_aside()
                    self.loaded_at = now
                self._load_changes()
            self.checked_at = now


def new_index(app: Flask) -> WorkerIndex:
    """An index for this app's model, threshold and host folder (not loaded yet)."""
    return WorkerIndex(
        engine.model_spec(app.config.get("SIMILAR_MODEL")),
        ann_threshold=int(app.config.get("SIMILAR_ANN_THRESHOLD", 250_000)),
        directory=Path(app.instance_path) / "similar-index",
    )


def worker_index(app: Flask | None = None) -> WorkerIndex:
    """The index of this process for this app, created on first use (after fork)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    if "similar_index" not in app.extensions:
        app.extensions["similar_index"] = new_index(app)
    index: WorkerIndex = app.extensions["similar_index"]
    return index


def index_state() -> str:
    """This worker's index, brought up to date, as a cache key part: a page showing similar stories is cached
    under the state it was rendered from, so a worker whose index is behind never stores its answer where a
    worker that has caught up would serve it."""
    index = worker_index()
    index.refresh()
    return index.state()
