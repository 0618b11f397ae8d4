"""The layout rules of ARCHITECTURE.md hold (tools/check_layout.py), and create_app wires the hooks and
listeners itself, in the order it states."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

from flask import Flask

from forum import events
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
    assert "forum.similar.store._on_story_written" in created
    changed = _names(events.post_visibility_changed.receivers.values())
    assert changed == ["forum.similar.store._on_visibility_changed", "forum.pagecache.invalidate"]


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
