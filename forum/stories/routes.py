"""Story pages: compose, read, reply, react, edit, delete, add updates, and save drafts as you type."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, g, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from forum import drafts, memberpages
from forum import text as textlib
from forum.errors import ForumError, ValidationFailed
from forum.extensions import db, limiter
from forum.models import CONTENT_NOTES, Draft, Reply, Story
from forum.params import page_arg, row_id
from forum.permissions import require
from forum.stories import kept, queries, rules, services  # noqa: F401  (rules registers permission predicates)
from forum.stories.forms import (
    AGE_BAND_LABELS,
    OUTCOME_LABELS,
    SETTING_LABELS,
    ConfirmForm,
    DeleteStoryForm,
    ReplyForm,
    StoryForm,
    UpdateForm,
)
from forum.typed_text import TypedText, keeps_typed_text, new_submission_key, restore, stash_owner

bp = Blueprint("stories", __name__)
REACTION_LABELS = {
    "hugs": "Hugs",
    "me-too": "Me too",
    "been-there": "Been there",
    "got-this": "You've got this",
}
# How reactions read as people: (one parent, several parents).
REACTION_PEOPLE = {
    "hugs": ("sent hugs", "sent hugs"),
    "me-too": ("said “me too”", "said “me too”"),
    "been-there": ("has been there", "have been there"),
    "got-this": ("says “you've got this”", "say “you've got this”"),
}


def story_helpers() -> dict[str, Any]:
    return {
        "author_label": queries.author_label,
        "AGE_BAND_LABELS": AGE_BAND_LABELS,
        "SETTING_LABELS": SETTING_LABELS,
        "OUTCOME_LABELS": OUTCOME_LABELS,
        "CONTENT_NOTES": CONTENT_NOTES,
        "REACTION_LABELS": REACTION_LABELS,
        "REACTION_PEOPLE": REACTION_PEOPLE,
    }


def draft_owner() -> str:
    """The signed-in member's opaque key for draft copies kept in this browser ("" when signed out)."""
    return drafts.browser_draft_owner(current_user.id) if current_user.is_authenticated else ""


def markdown_filter(text: str) -> Any:
    return textlib.markdown_filter(text)


def _millis(draft: Any) -> int | None:
    return int(draft.updated_at.timestamp() * 1000) if draft.updated_at else None


def empty_compose_version() -> str | None:
    """The compose page is the same empty form for every member (her header bits, CSRF token and one-time
    key are slots): kept once (forum.memberpages) unless this request restores or prefills anything."""
    if request.args:
        return None
    has_draft = drafts.STORY_DRAFT_KEPT.get(current_user.id)  # read with her sign-in: no statement of its own
    if has_draft is None:
        has_draft = (
            db.session.scalar(
                sa.select(Draft.id)
                .where(Draft.user_id == current_user.id, Draft.key == drafts.STORY_DRAFT_KEY)
                .limit(1)
            )
            is not None
        )
    return None if has_draft else "empty"


memberpages.register_slot_writer("key", new_submission_key)


@bp.route("/stories/new", methods=["GET", "POST"])
@memberpages.kept_form(empty_compose_version)
@keeps_typed_text(
    StoryForm,
    template="stories/compose.html",
    draft_key=lambda: drafts.STORY_DRAFT_KEY,
    come_back_to=lambda: url_for("stories.compose"),
)
def compose(typed: TypedText) -> Any:
    """Write and post a story; nothing typed is lost on errors, expired tokens or an ended sign-in."""
    form = typed.form
    restored = draft_at = None
    if request.method == "GET":
        restored = drafts.take_stash(request.args.get("restore"), drafts.STORY_DRAFT_KEY, stash_owner())
        saved = restored or drafts.get_draft(current_user, drafts.STORY_DRAFT_KEY)
        if saved is not None:
            typed.fill(saved)
            draft_at = _millis(saved) if saved is not restored else None
            memberpages.not_kept()  # her draft is on this page: never kept
        elif memberpages.kept_rendering():
            form.submission_key.data = memberpages.slot("key")  # a fresh one-time key at every fill
    story = typed.attempt(
        lambda: services.publish_story(
            current_user,
            body=form.body.data,
            title=form.title.data,
            tags=form.tags.data,
            anonymous=form.anonymous.data,
            age_band=form.age_band.data,
            setting=form.setting.data,
            content_note=form.content_note.data,
            submission_key=form.submission_key.data,
            remind_after_weeks=int(form.remind.data) if form.remind.data in ("1", "3") else None,
        )
    )
    if story is not None:
        return redirect(url_for("stories.show", story_id=story.id, posted=1))
    return typed.render(restored=restored, draft_at=draft_at)


def _quote_for(story: Story, ref: str | None) -> tuple[str, str] | None:
    """(markdown quote, quoting ref) for ?quote=story or ?quote=reply-<id>."""
    item: Story | Reply | None = None
    if ref == "story" and story.status == "published":
        item = story
    reply_id = row_id(ref[6:]) if ref and ref.startswith("reply-") else None
    if reply_id is not None:
        reply = db.session.get(Reply, reply_id)
        if reply is not None and reply.story_id == story.id and reply.status == "published":
            item = reply
    if item is None:
        return None
    # Who wrote it (anonymous stays "Anonymous parent"), then its first paragraph with its lines and lists.
    said = textlib.quote_attribution(queries.author_label(item))
    return (
        f"{said}\n{textlib.quote_markdown(textlib.first_paragraph(item.body))}",
        "" if item is story else ref or "",
    )


def render_story(story: Story, form: ReplyForm, page: int = 1, status: int = 200) -> Any:
    """The story page: story, updates, a page of replies with their reactions, and the reply box."""
    pagination = queries.reply_page(story, current_user, page)
    replies = list(pagination.items)
    if memberpages.kept_rendering():
        form.submission_key.data = memberpages.slot("key")  # a fresh one-time key at every fill
        memberpages.note_authors([story.author_id, *(reply.author_id for reply in replies)])
    form.ensure_key()
    reactions = queries.reaction_summaries(story, replies, current_user)
    parts = kept.kept_replies(story, replies, current_user, pagination.page, reactions)
    return render_template(
        "stories/show.html",
        story=story,
        replies=replies,
        pagination=pagination,
        form=form,
        updates=queries.updates_for(story, current_user),
        reactions=reactions,
        kept=parts,
        ready=kept.ready_replies(replies, parts, generate_csrf() if parts else "", REACTION_LABELS),
        posted=request.args.get("posted") == "1" and queries._is_author(story, current_user),
        sent_reply=any(
            r.id == request.args.get("sent", type=int) and queries._is_author(r, current_user)
            for r in replies
        ),
    ), status


@bp.get("/stories/<int:story_id>")
def show(story_id: int) -> Any:
    """Read a story, its updates and replies."""
    story = queries.get_story(story_id, current_user)
    # Visitors see no reply box: no CSRF token either, so their page can come from the page cache.
    form = ReplyForm(formdata=None, meta={"csrf": current_user.is_authenticated})
    if current_user.is_authenticated:
        quote = _quote_for(story, request.args.get("quote"))
        saved = restore(form, f"reply-{story.id}")
        if saved is not None:
            g.draft_at = _millis(saved)
            memberpages.not_kept()  # her draft is on this page
        if quote:
            form.body.data = quote[0] + (form.body.data or "")
            form.quoting.data = quote[1]
    return render_story(story, form, page_arg())


@bp.post("/stories/<int:story_id>/replies")
@keeps_typed_text(
    ReplyForm,
    template="stories/show.html",
    draft_key=lambda story_id: f"reply-{story_id}",
    come_back_to=lambda story_id: url_for("stories.show", story_id=story_id),
)
def reply(typed: TypedText, story_id: int) -> Any:
    """Post a reply; on any problem the page comes back with the reply text in place."""
    story = queries.get_story(story_id, current_user, with_tags=False)
    form = typed.form
    quoting_ref = form.quoting.data or ""
    quoted_id = row_id(quoting_ref[6:]) if quoting_ref.startswith("reply-") else None
    quoting = db.session.get(Reply, quoted_id) if quoted_id is not None else None
    item = typed.attempt(
        lambda: services.add_reply(
            current_user, story, body=form.body.data, submission_key=form.submission_key.data, quoting=quoting
        )
    )
    if item is not None:
        return redirect(
            url_for(
                "stories.show",
                story_id=story.id,
                page=queries.new_reply_page_number(item, story),
                sent=item.id,
                _anchor=f"reply-{item.id}",
            )
        )
    last_page = max(1, -(-story.reply_count // queries.REPLIES_PER_PAGE))
    return render_story(story, form, last_page, typed.status)


@bp.route("/stories/<int:story_id>/edit", methods=["GET", "POST"])
@login_required
@keeps_typed_text(StoryForm, template="stories/edit.html")
def edit(typed: TypedText, story_id: int) -> Any:
    """The author changes their story."""
    story = queries.get_story(story_id, current_user)
    require("edit_story", story)
    form = typed.form
    if request.method == "GET":
        form.title.data, form.body.data = story.title, story.body
        form.tags.data = ", ".join(t.name for t in story.tags)
        form.age_band.data, form.setting.data = story.age_band or "", story.setting or ""
        form.content_note.data = story.content_note or ""
    edited = typed.attempt(
        lambda: services.edit_story(
            current_user,
            story,
            body=form.body.data,
            title=form.title.data,
            tags=form.tags.data,
            age_band=form.age_band.data,
            setting=form.setting.data,
            content_note=form.content_note.data,
        )
    )
    if edited is not None:
        return redirect(url_for("stories.show", story_id=story.id))
    return typed.render(story=story)


@bp.route("/stories/<int:story_id>/delete", methods=["GET", "POST"])
@login_required
def delete(story_id: int) -> Any:
    """The author deletes their story, optionally with its replies."""
    story = queries.get_story(story_id, current_user)
    require("delete_story", story)
    form = DeleteStoryForm()
    if form.validate_on_submit():
        services.delete_story(current_user, story, remove_everything=form.remove_everything.data)
        return redirect(url_for("stories.show", story_id=story.id))
    return render_template("stories/delete.html", form=form, story=story)


@bp.route("/stories/<int:story_id>/updates/new", methods=["GET", "POST"])
@login_required
@keeps_typed_text(UpdateForm, template="stories/update.html")
def add_update(typed: TypedText, story_id: int) -> Any:
    """The author adds a "how it turned out" update."""
    story = queries.get_story(story_id, current_user)
    require("add_update", story)
    form = typed.form
    item = typed.attempt(
        lambda: services.add_update(
            current_user,
            story,
            body=form.body.data,
            outcome=form.outcome.data or "",
            submission_key=form.submission_key.data,
        )
    )
    if item is not None:
        return redirect(url_for("stories.show", story_id=story.id, _anchor=f"update-{item.id}"))
    return typed.render(story=story)


@bp.route("/replies/<int:reply_id>/edit", methods=["GET", "POST"])
@login_required
@keeps_typed_text(ReplyForm, template="stories/edit_reply.html")
def edit_reply(typed: TypedText, reply_id: int) -> Any:
    """The member changes their reply."""
    item = queries.get_reply(reply_id, current_user)
    require("edit_reply", item)
    form = typed.form
    if request.method == "GET":
        form.body.data = item.body
    if typed.attempt(lambda: services.edit_reply(current_user, item, body=form.body.data)) is not None:
        return redirect(_reply_url(item))
    return typed.render(reply=item)


@bp.route("/replies/<int:reply_id>/delete", methods=["GET", "POST"])
@login_required
def delete_reply(reply_id: int) -> Any:
    """The member deletes their reply."""
    item = queries.get_reply(reply_id, current_user)
    require("delete_reply", item)
    form = ConfirmForm()
    if form.validate_on_submit():
        services.delete_reply(current_user, item)
        return redirect(url_for("stories.show", story_id=item.story_id))
    return render_template("stories/delete_reply.html", form=form, reply=item)


def _reply_url(item: Reply) -> str:
    return url_for(
        "stories.show",
        story_id=item.story_id,
        page=queries.reply_page_number(item),
        _anchor=f"reply-{item.id}",
    )


# The wanted state of a reaction, as a form sends it; a post without one sends the reaction (turns it on).
REACTION_STATES = {"1": True, "on": True, "true": True, "0": False, "off": False, "false": False}


def _react(story: Story | None, item: Reply | None, back: str) -> Any:
    # The page's buttons send "kind:state" (one form for the four); "kind" and "on" apart are accepted too.
    chosen = request.form.get("react") or f"{request.form.get('kind', '')}:{request.form.get('on', '1')}"
    kind, _, state = chosen.partition(":")
    wanted = REACTION_STATES.get(state.strip().lower())
    if wanted is None:
        raise ValidationFailed([("on", "That reaction request wasn't clear. Please try again.")])
    on = services.set_reaction(current_user, kind=kind, on=wanted, story=story, reply=item)
    if request.accept_mimetypes.best == "application/json":
        if item is not None:
            key = f"reply-{item.id}"
        else:
            assert story is not None  # the routes pass a story or a reply
            key = f"story-{story.id}"
        summary = queries.reaction_summaries(story, [item] if item else [], current_user)[key]
        return jsonify(
            on=on,
            kind=kind,
            counts={k: summary.count(k) for k in REACTION_LABELS},
            people={k: summary.people.get(k, []) for k in REACTION_LABELS},
            mine=sorted(summary.mine),
        )
    return redirect(back)


@bp.post("/stories/<int:story_id>/reactions")
@login_required
def react_story(story_id: int) -> Any:
    """Send or take back a supportive reaction on a story (a form post, or fetch with JSON back); the post
    carries the wanted state ("on": 1 or 0), so sending it again changes nothing."""
    story = queries.get_story(story_id, current_user)
    return _react(story, None, url_for("stories.show", story_id=story.id, _anchor="reactions-story"))


@bp.post("/replies/<int:reply_id>/reactions")
@login_required
def react_reply(reply_id: int) -> Any:
    """Send or take back a supportive reaction on a reply."""
    item = queries.get_reply(reply_id, current_user)
    return _react(None, item, _reply_url(item))


def _member_key() -> str:
    return f"member:{current_user.id}" if current_user.is_authenticated else request.remote_addr or ""


@bp.route("/drafts/<key>", methods=["PUT", "POST", "DELETE"])
@login_required
@limiter.limit("30 per minute", key_func=_member_key)
def save_draft(key: str) -> Any:
    """Autosave what the member is typing (JSON, with the CSRF token in X-CSRFToken)."""
    if request.method == "DELETE":
        drafts.discard_draft(current_user, key)
        return jsonify(saved=False)
    values = request.get_json(silent=True) or request.form.to_dict()
    try:
        draft = drafts.save_draft(current_user, key, values if isinstance(values, dict) else {})
    except ForumError as error:
        return jsonify(error=error.message), 400
    return jsonify(saved=True, updated_at=draft.updated_at.isoformat())
