"""The layout rules of ARCHITECTURE.md hold (tools/check_layout.py), and create_app wires the hooks and
listeners itself, in the order it states."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from flask import Flask

from forum import events
from forum.jobs import queue
from forum.stories import hooks

ROOT = Path(__file__).resolve().parent.parent


def _checker():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("check_layout", ROOT / "tools" / "check_layout.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_layout_rules_hold() -> None:
    assert _checker().check() == []


def _names(receivers: object) -> list[str]:
    return [f"{f.__module__}.{f.__name__}" for f in receivers]  # type: ignore[attr-defined]


def test_create_app_registers_hooks_and_listeners_in_its_stated_order(app: Flask) -> None:
    checks = _names(hooks.before_write)
    assert checks[0] == "forum.care.preferences.refuse_replies_across_blocks"
    assert checks[1:3] == [
        "forum.moderation.protection.check_member_may_write",
        "forum.moderation.members.check_not_silenced",
    ]
    assert len(checks) == len(set(checks))  # several apps in one process register each check once
    created = _names(events.content_created.receivers.values())
    assert created[0] == "forum.care.services._after_write"
    assert (
        created[-1] == "forum.pagecache.invalidate"
    )  # the cache drops a page after everything that changes it
    # What can wait is a background job queued with the post (forum.jobs), in install order.
    assert list(queue._follow_ups) == ["care.check", "moderation.flags", "similar.embed"]
    changed = _names(events.post_visibility_changed.receivers.values())
    assert changed == [
        "forum.similar.store._on_visibility_changed",
        "forum.fragments.drop_changed",
        "forum.pagecache.invalidate",
    ]


def test_importing_the_features_registers_no_hook() -> None:
    """Only create_app wires hooks: importing care, moderation and similar (as a script might) adds none."""
    code = (
        "import forum.care, forum.moderation, forum.similar\n"
        "from forum import events\n"
        "from forum.stories import hooks\n"
        "print(len(hooks.before_write), len(events.content_created.receivers))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "0"]


_FEATURE_MODULES = (
    "forum.care.routes",
    "forum.moderation.routes",
    "forum.notifications.routes",
    "forum.notifications.mail.routes",
    "forum.following.routes",
    "forum.stories.lifecycle",
    "forum.notifications.mail.outbox",
)


def test_importing_routes_and_listeners_registers_nothing_app_wide() -> None:
    """Their blueprints, registered on a bare app, add routes only (no request hook, context processor or
    template global), and importing the lifecycle and the outbox attaches no session listener."""
    code = (
        "import importlib, flask, sqlalchemy as sa\n"
        "from sqlalchemy import orm\n"
        f"mods = [importlib.import_module(m) for m in {_FEATURE_MODULES!r}]\n"
        "from forum.notifications.mail import outbox\n"
        "from forum.stories import lifecycle\n"
        "bare = flask.Flask('bare')\n"
        "names = set(bare.jinja_env.globals)\n"
        "processors = list(bare.template_context_processors[None])\n"
        "for m in mods:\n"
        "    if hasattr(m, 'bp'):\n"
        "        bare.register_blueprint(m.bp)\n"
        "print(len(bare.url_map._rules) > 1)\n"
        "print(sorted(set(bare.jinja_env.globals) - names))\n"
        "print(dict(bare.before_request_funcs), dict(bare.after_request_funcs))\n"
        "print(bare.template_context_processors[None] == processors)\n"  # a blueprint's own may stay
        "listeners = [(e, f) for e, f in outbox._LISTENERS] + [('after_rollback', lifecycle._forget_on_rollback)]\n"
        "print([e for e, f in listeners if sa.event.contains(orm.Session, e, f)])\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["True", "[]", "{} {}", "True", "[]"]


def test_create_app_registers_request_hooks_template_helpers_and_session_listeners(app: Flask) -> None:
    import sqlalchemy as sa
    from sqlalchemy import orm

    from forum.notifications.mail import outbox
    from forum.stories import lifecycle

    assert _names(app.before_request_funcs[None])[-4:] == [
        "forum.params.check_json_body",
        "forum.notifications.routes.deliver_due_reminders",
        "forum.following.routes.mark_story_read",
        "forum.moderation.routes.end_finished_restrictions",
    ]
    assert _names(app.template_context_processors[None])[-6:] == [
        "forum.notifications.routes.unread_notifications",
        "forum.notifications.mail.routes.mail_helpers",
        "forum.moderation.routes.moderation_helpers",
        "forum.stories.routes.story_helpers",
        "forum.following.routes.follow_helpers",
        "forum.atom.routes.feed_links",
    ]
    for name in ("care_verdicts_for", "care_card_for", "privacy_warning", "support_resources_by_region"):
        assert app.jinja_env.globals[name].__module__ == "forum.care.routes"
    assert {"note_mode", "care_settings"} <= set(app.jinja_env.globals)
    assert sa.event.contains(orm.Session, "after_flush", outbox._collect)
    assert sa.event.contains(orm.Session, "before_commit", outbox._fan_out_replies)
    assert sa.event.contains(orm.Session, "after_rollback", lifecycle._forget_on_rollback)
