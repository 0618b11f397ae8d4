"""The review queue: reports grouped per item, filtered and ordered.

Priority follows Discourse's idea: the reason's severity, how many distinct members reported it, and each
reporter's track record (reports that led to action weigh more; dismissed ones less) and trust level (a new
account's report weighs half, a trusted member's one and a half).
Tabs: "open" (needs review), "reviewed" (resolved, newest decision first) and "all".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from forum.errors import NotFound
from forum.extensions import db
from forum.models import (
    Appeal,
    AuditEntry,
    Claim,
    Flag,
    FlagReason,
    ModeratorNote,
    Reply,
    Status,
    Story,
    StoryUpdate,
    User,
    utcnow,
)
from forum.moderation import history, trust
from forum.moderation.targets import Target, load_target

SEVERITY = {
    FlagReason.AT_RISK.value: 100,
    FlagReason.CHILD_DETAILS.value: 30,
    FlagReason.UNKIND.value: 20,
    FlagReason.SPAM.value: 15,
    FlagReason.WATCHED_WORD.value: 12,
    FlagReason.OTHER.value: 10,
    FlagReason.OFF_TOPIC.value: 5,
}
HIDDEN_BOOST = 25
QUEUE_LIMIT = 100
TABS = ("open", "reviewed", "all")
AGES = {"day": timedelta(days=1), "week": timedelta(days=7)}
KINDS = ("story", "reply", "update")


@dataclass
class Filters:
    """What the queue shows: a tab, filters and an order, from the query string (anything unknown ignored)."""

    tab: str = "open"
    reason: str = ""
    kind: str = ""
    age: str = ""  # "day", "week" (reported within) or "older" (reported more than a week ago)
    mine: bool = False  # claimed by or assigned to me
    welfare: bool = False
    sort: str = "priority"  # or "oldest"

    @classmethod
    def from_args(cls, args: Any) -> Filters:
        tab = args.get("tab", "open")
        return cls(
            tab=tab if tab in TABS else "open",
            reason=args.get("reason", "") if args.get("reason", "") in SEVERITY else "",
            kind=args.get("kind", "") if args.get("kind", "") in KINDS else "",
            age=args.get("age", "") if args.get("age", "") in (*AGES, "older") else "",
            mine=args.get("mine") == "1",
            welfare=args.get("welfare") == "1",
            sort="oldest" if args.get("sort") == "oldest" else "priority",
        )

    @property
    def active(self) -> bool:
        return bool(self.reason or self.kind or self.age or self.mine or self.welfare)


def reporter_weights(reporter_ids: set[int]) -> dict[int, float]:
    """Each reporter's weight from their record: 1 for a newcomer, up to 2 when their reports were upheld."""
    if not reporter_ids:
        return {}
    rows = db.session.execute(
        sa.select(Flag.reporter_id, Flag.resolution, sa.func.count())
        .where(Flag.reporter_id.in_(reporter_ids), Flag.resolution.is_not(None))
        .group_by(Flag.reporter_id, Flag.resolution)
    )
    record: dict[int, dict[str, int]] = defaultdict(lambda: {"upheld": 0, "dismissed": 0})
    for reporter_id, resolution, n in rows:
        record[reporter_id][resolution] = n
    weights = {}
    for reporter_id in reporter_ids:
        upheld, dismissed = record[reporter_id]["upheld"], record[reporter_id]["dismissed"]
        # Smoothed accuracy: three imaginary neutral reports keep one early result from swinging it.
        weights[reporter_id] = 0.5 + 1.5 * (upheld + 1.5) / (upheld + dismissed + 3)
    return weights


@dataclass
class QueueItem:
    target: Target
    flags: list[Flag]
    score: float
    claim: Claim | None = None
    notes: list[ModeratorNote] = field(default_factory=list)
    author_flag_count: int = 0
    author_action_count: int = 0
    trust: str | None = None  # the author's trust level, named content only
    edits: history.EditHistory = field(default_factory=history.EditHistory)

    @property
    def open(self) -> bool:
        return any(f.resolved_at is None for f in self.flags)

    @property
    def resolution(self) -> str | None:
        """For a reviewed item: the latest decision on its reports."""
        done = [f for f in self.flags if f.resolved_at is not None]
        return max(done, key=lambda f: f.resolved_at).resolution if done else None  # type: ignore[arg-type,return-value]

    @property
    def resolved_at(self) -> datetime | None:
        return max((f.resolved_at for f in self.flags if f.resolved_at is not None), default=None)

    @property
    def welfare(self) -> bool:
        return any(f.reason == FlagReason.AT_RISK.value for f in self.flags)

    @property
    def key(self) -> str:
        return f"{self.target.kind}-{self.target.id}"

    @property
    def live_claim(self) -> Claim | None:
        return self.claim if self.claim and self.claim.expires_at > utcnow() else None

    def claimed_by_other(self, moderator: User) -> bool:
        return bool(self.live_claim and self.live_claim.moderator_id != moderator.id)

    def mine(self, moderator: User) -> bool:
        claim = self.claim
        return bool(
            claim
            and (
                claim.assigned_to_id == moderator.id
                or (self.live_claim and claim.moderator_id == moderator.id)
            )
        )


def _trust_weights(reporter_ids: set[int]) -> dict[int, float]:
    reporters = (
        list(db.session.scalars(sa.select(User).where(User.id.in_(reporter_ids)))) if reporter_ids else []
    )
    return {uid: trust.PRIORITY_WEIGHT[lvl] for uid, lvl in trust.levels(reporters).items()}


def score(flags: list[Flag], weights: dict[int, float], hidden: bool) -> float:
    """Severity of the worst reason, plus the weighted number of distinct reporters, plus a hidden boost."""
    severity = max(SEVERITY.get(f.reason, 10) for f in flags)
    reporters = {f.reporter_id for f in flags if f.reporter_id}
    return severity + 10 * sum(weights.get(r, 1.0) for r in reporters) + (HIDDEN_BOOST if hidden else 0)


def open_queue() -> list[QueueItem]:
    """Every item with open reports, highest priority first (welfare reports always on top)."""
    return load_queue(Filters())


def _flags_query(filters: Filters, only: tuple[str, int] | None = None) -> sa.Select[tuple[Flag]]:
    query = sa.select(Flag).options(selectinload(Flag.reporter))
    if only is not None:
        query = query.where(Flag.target_type == only[0], Flag.target_id == only[1])
    if filters.tab == "open":
        query = query.where(Flag.resolved_at.is_(None))
    elif filters.tab == "reviewed":
        query = query.where(Flag.resolved_at.is_not(None))
    if filters.kind:
        query = query.where(Flag.target_type == filters.kind)
    now = utcnow()
    if filters.age in AGES:
        query = query.where(Flag.created_at >= now - AGES[filters.age])
    elif filters.age == "older":
        query = query.where(Flag.created_at < now - AGES["week"])
    newest_first = Flag.resolved_at.desc() if filters.tab == "reviewed" else Flag.id.desc()
    return query.order_by(newest_first).limit(QUEUE_LIMIT * 10)


def load_queue(
    filters: Filters, moderator: User | None = None, only: tuple[str, int] | None = None
) -> list[QueueItem]:
    """The items of a tab that pass the filters, in the chosen order: by priority (welfare first) or oldest
    report first; the reviewed tab lists the latest decisions first. `only` limits it to one item."""
    flags = list(db.session.scalars(_flags_query(filters, only)))
    grouped: dict[tuple[str, int], list[Flag]] = defaultdict(list)
    for flag in sorted(flags, key=lambda f: f.created_at):
        grouped[(flag.target_type, flag.target_id)].append(flag)
    reporter_ids = {f.reporter_id for f in flags if f.reporter_id}
    weights = reporter_weights(reporter_ids)
    for reporter_id, factor in _trust_weights(reporter_ids).items():
        weights[reporter_id] = weights.get(reporter_id, 1.0) * factor
    claims = {(c.target_type, c.target_id): c for c in db.session.scalars(sa.select(Claim))}
    items = []
    for (kind, item_id), item_flags in grouped.items():
        try:
            target = load_target(kind, item_id)
        except NotFound:
            continue
        hidden = target.item.status == Status.HIDDEN.value
        item = QueueItem(target, item_flags, score(item_flags, weights, hidden), claims.get((kind, item_id)))
        if filters.reason and not any(f.reason == filters.reason for f in item_flags):
            continue
        if filters.welfare and not item.welfare:
            continue
        if filters.mine and (moderator is None or not item.mine(moderator)):
            continue
        items.append(item)
    if filters.tab == "reviewed":
        items.sort(key=lambda i: i.resolved_at or datetime.min, reverse=True)
    elif filters.sort == "oldest":
        items.sort(key=lambda i: i.flags[0].created_at)
    else:
        items.sort(key=lambda i: (not i.welfare, -i.score, i.flags[0].created_at))
    items = items[:QUEUE_LIMIT]
    _add_author_history(items)
    for item in items:
        item.edits = history.since(item.target, item.flags[0].created_at)
    return items


def _targets_in(items: list[tuple[str, int]], kind_column: Any, id_column: Any) -> Any:
    """SQL condition: (kind, id) is one of these items."""
    kinds = {kind for kind, _ in items}
    return sa.or_(
        *(sa.and_(kind_column == kind, id_column.in_([i for k, i in items if k == kind])) for kind in kinds)
    )


def identity_history(target: Target, limit: int = 20) -> list[AuditEntry]:
    """Moderators' actions on an anonymous author's posts under this one "Anonymous parent", newest first."""
    return list(
        db.session.scalars(
            sa.select(AuditEntry)
            .where(_targets_in(target.identity_items(), AuditEntry.target_type, AuditEntry.target_id))
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
    )


def _anonymous_counts(target: Target) -> tuple[int, int]:
    """(reports, past actions) on this anonymous identity's posts only."""
    items = target.identity_items()
    flags = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Flag)
        .where(_targets_in(items, Flag.target_type, Flag.target_id))
    )
    actions = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEntry)
        .where(
            _targets_in(items, AuditEntry.target_type, AuditEntry.target_id),
            AuditEntry.actor_id.is_not(None),
            AuditEntry.action != "reveal-author",
        )
    )
    return flags or 0, actions or 0


def _add_author_history(items: list[QueueItem]) -> None:
    """Each entry's author history. For an anonymous entry it is that anonymous identity's alone (no join
    date, no notes, no counts of the member's other posts), so nothing here matches her named entries; a
    named author's counts leave out what she wrote anonymously, for the same reason."""
    for item in items:
        if item.target.is_anonymous:
            item.author_flag_count, item.author_action_count = _anonymous_counts(item.target)
    author_ids = {i.target.author_id for i in items if i.target.author_id and not i.target.is_anonymous}
    if not author_ids:
        return
    written_anonymously = sa.and_(Story.anonymous, Story.author_id == Flag.author_id)
    flag_counts = dict(
        db.session.execute(
            sa.select(Flag.author_id, sa.func.count())
            .join(Story, Story.id == Flag.story_id)
            .where(Flag.author_id.in_(author_ids), sa.not_(written_anonymously))
            .group_by(Flag.author_id)
        )
        .tuples()
        .all()
    )
    # Audit rows about anonymous posts carry no member (moderation.services.audit), so these are named ones.
    action_counts = dict(
        db.session.execute(
            sa.select(AuditEntry.subject_id, sa.func.count())
            .where(AuditEntry.subject_id.in_(author_ids), AuditEntry.actor_id.is_not(None))
            .group_by(AuditEntry.subject_id)
        )
        .tuples()
        .all()
    )
    notes: dict[int, list[ModeratorNote]] = defaultdict(list)
    for note in db.session.scalars(
        sa.select(ModeratorNote)
        .where(ModeratorNote.member_id.in_(author_ids))
        .order_by(ModeratorNote.created_at.desc())
    ):
        notes[note.member_id].append(note)
    levels = trust.levels(list(db.session.scalars(sa.select(User).where(User.id.in_(author_ids)))))
    for item in items:
        author_id = item.target.author_id
        if author_id and not item.target.is_anonymous:
            item.trust = levels.get(author_id)
            item.author_flag_count = flag_counts.get(author_id, 0)
            item.author_action_count = action_counts.get(author_id, 0)
            item.notes = notes.get(author_id, [])


def pending_approval() -> list[Target]:
    """Posts held for approval (new accounts, watched words)."""
    targets: list[Target] = []
    for kind, model in (("story", Story), ("reply", Reply), ("update", StoryUpdate)):
        for item in db.session.scalars(
            sa.select(model).where(model.status == Status.PENDING.value).order_by(model.created_at).limit(50)
        ):
            # select() over a loop of three models is typed as their common base
            targets.append(load_target(kind, cast(Story | Reply | StoryUpdate, item).id))
    return targets


def open_appeals() -> list[tuple[Appeal, Target]]:
    """Appeals waiting for a decision, oldest first."""
    appeals = db.session.scalars(
        sa.select(Appeal).where(Appeal.decided_at.is_(None)).order_by(Appeal.created_at)
    )
    return [(a, load_target(a.target_type, a.target_id)) for a in appeals]
