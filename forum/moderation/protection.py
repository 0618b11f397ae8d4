"""Automatic protection, run before every write: suspensions, rate limits, repeated text, watched words,
and optional approval of new members' first posts."""

from __future__ import annotations

import functools
import re
from datetime import timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from flask import Flask, current_app
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from forum import staff_lists
from forum import text as textlib
from forum.errors import NotAllowed, RateLimited, ValidationFailed
from forum.extensions import db
from forum.jobs import queue as jobs
from forum.models import FlagReason, Reply, Status, Story, StoryUpdate, User, WatchedWord, utcnow
from forum.moderation import members, trust
from forum.moderation.services import get_setting, system_flag
from forum.moderation.targets import target_of
from forum.stories import hooks

# Writes per member; accounts younger than a day get the stricter column.
WRITE_LIMITS = {
    "story": ("6 per hour", "3 per hour"),
    "reply": ("30 per hour", "10 per hour"),
    "update": ("10 per hour", "5 per hour"),
    "reaction": ("120 per hour", "60 per hour"),
    "report": ("20 per hour", "10 per hour"),
}
# Edits re-run every check on the text (crisis detection, embedding), so they are limited too.
EDIT_LIMITS = ("30 per hour", "15 per hour")
NEW_ACCOUNT_AGE = timedelta(days=1)
REPEAT_WINDOW = timedelta(hours=24)
# Near-duplicates across authors: compared with the latest posts of the last hours, a bounded amount of text.
NEAR_DUPLICATE_WINDOW = timedelta(hours=6)
NEAR_DUPLICATE_POSTS = 100  # the latest stories and the latest replies looked at, whoever wrote them
NEAR_DUPLICATE_CHARS = 1_500  # of each text
NEAR_DUPLICATE_MIN_WORDS = 8  # short kind words ("sending hugs, you've got this") are said by many
NEAR_DUPLICATE_JACCARD = 0.7  # share of word 3-shingles in common
NEAR_DUPLICATE_HOLD_AUTHORS = 2  # other members who posted it: flagged from one, held for approval from two
BLOCK_MESSAGE = (
    "Your post includes “{phrase}”, which isn't allowed on Village. Please change it; "
    "everything you wrote is still here."
)


def _is_edit(kind: str, target: Any) -> bool:
    """Edits pass the edited item itself as the target; new replies and updates pass their story."""
    return (kind == "story" and target is not None) or (kind == "reply" and isinstance(target, Reply))


def _limiter(app: Flask) -> MovingWindowRateLimiter:
    if "village_write_limiter" not in app.extensions:
        storage = storage_from_string(app.config.get("RATELIMIT_STORAGE_URI", "memory://"))
        app.extensions["village_write_limiter"] = MovingWindowRateLimiter(storage)
    return app.extensions["village_write_limiter"]


def check_member_may_write(author: User, kind: str, text: str, target: Any) -> None:
    """Suspended and banned members can read but not post, reply, react or report."""
    if author.banned_at is not None:
        raise NotAllowed("This account has been closed by the moderators.")
    if author.suspended_until is not None and author.suspended_until > utcnow():
        until = author.suspended_until.strftime("%-d %B %Y at %H:%M UTC")
        raise NotAllowed(f"Your account is suspended until {until}. You can still read Village until then.")


def check_rate_limit(author: User, kind: str, text: str, target: Any) -> None:
    """Too many writes in an hour are refused kindly; if the limit store is down, writes are refused too."""
    app = current_app
    if not app.config.get("RATELIMIT_ENABLED", True) or kind not in WRITE_LIMITS:
        return
    bucket = "edit" if _is_edit(kind, target) else kind
    established, newcomer = EDIT_LIMITS if bucket == "edit" else WRITE_LIMITS[kind]
    is_new = trust.is_new(author)  # young, or lately in poor standing
    item = parse(newcomer if is_new else established)
    try:
        allowed = _limiter(app).hit(item, "write", bucket, str(author.id))
    except Exception as error:  # noqa: BLE001 - any storage failure: fail closed for writes, kindly
        app.logger.warning("Rate-limit storage unavailable: %s", error)
        raise RateLimited(
            "Village can't save posts for a moment. Please try again in a minute; your text is kept."
        ) from error
    if not allowed:
        raise RateLimited(
            "You've posted a lot in a short time. Please wait a little and try again; your text is kept."
        )


_QUOTED_LINE = re.compile(r"^[ \t]*>.*$", re.MULTILINE)  # not \s*: it would run over newlines (quadratic)


@functools.lru_cache(maxsize=1024)  # recent posts are compared again on every write
def shingles(text: str) -> frozenset[str]:
    """Word 3-shingles of a text as it reads (normalise_for_matching, quoted lines left out), from a bounded
    opening of it: '**Buy** cheap LOANS now' and 'buy cheap loans now' give the same set."""
    plain = textlib.normalise_for_matching(_QUOTED_LINE.sub("", text[: NEAR_DUPLICATE_CHARS * 2]))
    words = re.findall(r"\w+", plain[:NEAR_DUPLICATE_CHARS])
    if len(words) < 3:
        return frozenset([" ".join(words)]) if words else frozenset()
    return frozenset(" ".join(words[i : i + 3]) for i in range(len(words) - 2))


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Jaccard similarity of two shingle sets (0 when either is empty)."""
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def _latest(model: type[Story] | type[Reply], own: bool) -> sa.Subquery:
    """The newest posts of one kind, newest first by id: the writer's own (by her (author_id, id) index, up to
    :own_limit) or anyone's (up to :limit). Ids, writers and times only: the text is read after the time window
    has left out the older ones (with it here, every write read and cut up to 200 bodies, most of them then
    dropped: 1.8 ms of PostgreSQL's time per write). The window itself is applied outside, since in SQL it would
    have the scan go through all she ever posted, or, for anyone's, the whole table on a quiet site (stories have
    no index on the time alone: 220 ms of CPU per write at 100,000 stories on SQLite)."""
    query = sa.select(model.id, model.author_id, model.created_at).order_by(model.id.desc())
    if own:
        query = query.where(model.author_id == sa.bindparam("author_id"))
    return query.limit(sa.bindparam("own_limit" if own else "limit", type_=sa.Integer)).subquery()


def _texts_since(model: type[Story] | type[Reply], own: bool, since: str) -> sa.Select[Any]:
    """(own, writer, opening of the text) of the latest posts (_latest) written since :<since> (the time is not
    returned: up to 160 times per write turned into Python datetimes for nothing)."""
    latest = _latest(model, own)
    return (
        sa.select(
            sa.literal_column("1" if own else "0").label("own"),
            latest.c.author_id,
            sa.func.substr(model.body, 1, NEAR_DUPLICATE_CHARS).label("opening"),
        )
        .select_from(latest)
        .join(model, model.id == latest.c.id)
        .where(latest.c.created_at >= sa.bindparam(since))
    )


def _before_write_statement(with_anyones: bool) -> sa.CompoundSelect:
    """The writer's own recent stories and replies (own = 1) and, when wanted, other members' latest (own = 0),
    in one statement: the check before every write ran four (each statement costs a write about 0.3 ms of CPU)."""
    arms = [_texts_since(model, True, "since") for model in (Story, Reply)]
    if with_anyones:
        for model in (Story, Reply):
            # Of anyone's latest posts, only other members' come back: her own were up to 200 rows of text read
            # and dropped on every write of a member who posts a lot.
            arm = _texts_since(model, False, "near_since")
            author = arm.selected_columns.author_id
            arms.append(arm.where(sa.or_(author != sa.bindparam("author_id"), author.is_(None))))
    return sa.union_all(*arms)


# Built once: every write runs one of these, and building a statement cost more than running it.
_BEFORE_WRITE = {wanted: _before_write_statement(wanted) for wanted in (False, True)}
# Anyone's latest stories and replies in the near-duplicate window, for the moderators' flags (a job).
_RECENT_POSTS = sa.union_all(*(_texts_since(model, False, "near_since") for model in (Story, Reply)))


def _recent_posts(since: Any) -> list[Any]:
    """(author id, text) of anyone's latest stories and replies since a time (among the latest
    NEAR_DUPLICATE_POSTS of each, ids growing with time)."""
    found = db.session.connection().execute(
        _RECENT_POSTS, {"near_since": since, "limit": NEAR_DUPLICATE_POSTS}
    )
    return [(author, text) for _own, author, text in found]


def check_repeated_text(author: User, kind: str, text: str, target: Any) -> str | None:
    """Text posted again and again, compared as it reads (case, punctuation, Markdown, look-alike letters
    and invisible characters do not count): the member's own third identical post today is refused; a
    near-duplicate of what two or more other members posted in the last hours (a spam wave from several
    accounts) waits for a moderator (with one, it is published and flagged: see flag_near_duplicates)."""
    if kind not in ("story", "reply") or _is_edit(kind, target) or len(text) < 20:
        return None
    body = text.split("\n", 1)[1] if kind == "story" and "\n" in text else text
    wanted = shingles(body)
    if not wanted:
        return None
    near = len(wanted) >= NEAR_DUPLICATE_MIN_WORDS - 2
    now = utcnow()
    own_since, near_since = now - REPEAT_WINDOW, now - NEAR_DUPLICATE_WINDOW
    found = db.session.connection().execute(
        _BEFORE_WRITE[near],
        {
            "author_id": author.id,
            "since": own_since,
            "near_since": near_since,
            "own_limit": 30,
            "limit": NEAR_DUPLICATE_POSTS,
        },
    )
    own: list[Any] = []
    anyones: list[Any] = []
    for is_own, writer, previous in found:
        (own if is_own else anyones).append((writer, previous))
    if sum(1 for _, previous in own if shingles(previous or "") == wanted) >= 2:
        raise ValidationFailed(
            [
                (
                    "body",
                    "You've already posted this text several times today. "
                    "If it's important, please write it a little differently.",
                )
            ]
        )
    others = _other_authors_of_near_duplicates(wanted, author.id, anyones)
    return "pending" if len(others) >= NEAR_DUPLICATE_HOLD_AUTHORS else None


def _other_authors_of_near_duplicates(
    wanted: frozenset[str], author_id: int | None, recent: list[Any] | None = None
) -> set[int | None]:
    """Other members who posted a near-duplicate of this text in the last hours (a bounded look; `recent`: those
    posts, when the caller has read them already)."""
    if len(wanted) < NEAR_DUPLICATE_MIN_WORDS - 2:
        return set()
    if recent is None:
        recent = _recent_posts(utcnow() - NEAR_DUPLICATE_WINDOW)
    return {
        other
        for other, previous in recent
        if other != author_id and similarity(shingles(previous or ""), wanted) >= NEAR_DUPLICATE_JACCARD
    }


def flag_near_duplicates(sender: Flask, item: Any, *, commit: bool = True, **extra: Any) -> None:
    """After a story or reply is created, flag it for the moderators when other members posted nearly the
    same text in the last hours (it was held instead when several did)."""
    if not isinstance(item, (Story, Reply)) or item.status != "published":
        return
    others = _other_authors_of_near_duplicates(shingles(item.body or ""), item.author_id)
    if others:
        count = len(others)
        note = f"Nearly the same text as recent posts by {count} other member{'s' if count > 1 else ''}"
        system_flag(target_of(item), FlagReason.SPAM.value, note, commit=commit)


class Watched(NamedTuple):
    """A watched word or phrase as every post is checked against it."""

    phrase: str
    action: str  # block | hold | flag
    pattern: re.Pattern[str]  # the phrase as it reads, as a whole word


# Built once: every story, reply and update reads the list before it is written (and its flags job again).
_WATCHED_WORDS = sa.select(WatchedWord.phrase, WatchedWord.action).order_by(WatchedWord.id)


def _watched() -> tuple[Watched, ...]:
    found = []
    for phrase, action in db.session.execute(_WATCHED_WORDS).tuples():
        plain = textlib.normalise_for_matching(phrase)
        if plain:
            found.append(Watched(phrase, action, re.compile(r"(?<!\w)" + re.escape(plain) + r"(?!\w)")))
    return tuple(found)


def matching_words(text: str) -> list[Watched]:
    """Watched words or phrases in text, matched as whole words on the text as it reads: a full-width letter,
    a zero-width space, a combining mark or Markdown inside the word ('**block**word') does not hide it. The
    list is kept for a few seconds (forum.staff_lists)."""
    words = staff_lists.kept("watched_words", _watched)
    if not words:
        return []
    plain = textlib.normalise_for_matching(text)
    return [word for word in words if word.pattern.search(plain)]


def check_watched_words(author: User, kind: str, text: str, target: Any) -> str | None:
    """Block (kindly, keeping the text) or hold for approval; flagging happens once the post exists."""
    if kind not in ("story", "reply", "update"):
        return None
    matches = matching_words(text)
    for word in matches:
        if word.action == "block":
            raise ValidationFailed([("body", BLOCK_MESSAGE.format(phrase=word.phrase))])
    return "pending" if any(w.action == "hold" for w in matches) else None


# Built once: with approval of first posts on, every story and reply counts its author's published posts.
_PUBLISHED_BY = {
    model: sa.select(sa.func.count())
    .select_from(model)
    .where(
        model.author_id == sa.bindparam("author_id", type_=sa.Integer), model.status == Status.PUBLISHED.value
    )
    for model in (Story, Reply)
}


def check_first_posts(author: User, kind: str, text: str, target: Any) -> str | None:
    """With the site setting on, a new member's posts wait for approval until one has been approved."""
    if (
        kind not in ("story", "reply")
        or _is_edit(kind, target)
        or get_setting("approve_first_posts") != "1"
        or author.is_moderator
    ):
        return None
    published = sum(
        db.session.scalar(_PUBLISHED_BY[model], {"author_id": author.id}) or 0 for model in (Story, Reply)
    )
    return None if published else "pending"


def flag_watched_words(sender: Flask, item: Any, *, commit: bool = True, **extra: Any) -> None:
    """After a post is created, raise a system flag for any watched word set to "flag"."""
    target = target_of(item)
    flagged = [w.phrase for w in matching_words(target.text) if w.action == "flag"]
    if flagged:
        system_flag(
            target, FlagReason.WATCHED_WORD.value, "Watched words: " + ", ".join(flagged), commit=commit
        )


def flag_new_post(item: Story | Reply | StoryUpdate) -> None:
    """The background job after a post is created: the moderators' flags (watched words, near duplicates).
    Nothing the writer sees waits for them; they are committed with the job, so a retried job flags once."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    flag_watched_words(app, item, commit=False)
    flag_near_duplicates(app, item, commit=False)


def install() -> None:
    """Register the checks on the stories hooks (once per process)."""
    for check in (
        check_member_may_write,
        members.check_not_silenced,
        check_rate_limit,
        check_repeated_text,
        check_watched_words,
        check_first_posts,
        trust.hold_links_from_new_accounts,
    ):
        hooks.register_before_write(check)
    jobs.after_post("moderation.flags", (Story, Reply, StoryUpdate))(flag_new_post)
