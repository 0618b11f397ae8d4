"""axe-core on the moderators' and admins' pages, at 390 px and at desktop size: no serious or critical
violations. Volunteers review the queue on their phones as often as at a desk, so the workbench gets the same
check as the members' pages (tests/browser/test_new_pages_a11y.py); the QA kit's axe run covers only pages a
visitor can open. Skipped without axe.min.js (AXE_JS, or the QA tools' npm copy under $QA_TOOLS)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.browser.conftest import DESKTOP, PHONE
from tests.browser.test_new_pages_a11y import axe_js, serious

pytestmark = pytest.mark.browser


def test_staff_pages_have_no_serious_accessibility_issues(
    live_app: Flask, live_server: str, sign_in_page: Any
) -> None:
    source = axe_js()
    from forum.extensions import db
    from forum.models import User
    from tests import factories

    with live_app.app_context():
        writer = factories.make_user(pseudonym="AxeWriter")
        reporter = factories.make_user(pseudonym="AxeReporter")
        story = factories.make_story(writer, title="A reported story", tags="axestaff")
        factories.make_flag(reporter, story, reason="unkind", note="This felt harsh to me.")
        anonymous = factories.make_story(writer, title="Written anonymously", anonymous=True)
        factories.make_flag(reporter, anonymous, reason="spam")
        story_id, anonymous_id = story.id, anonymous.id
    paths = [
        "/moderation",
        "/moderation?tab=reviewed",
        f"/moderation/story/{story_id}",
        f"/moderation/story/{anonymous_id}",
        "/moderation/words",
        "/moderation/audit",
        "/moderation/settings",
        "/moderation/team",
        "/admin/care",
        "/admin/similar",
    ]
    for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
        page = sign_in_page(f"AxeAdmin{name.title()}", {**size, "bypass_csp": True}, role="admin")
        problems = {}
        for path in paths:
            response = page.goto(live_server + path)
            assert response is not None and response.status == 200, path
            found = serious(page, source)
            if found:
                problems[path] = found
        assert problems == {}, f"{name}: {problems}"
        with live_app.app_context():
            admin = db.session.scalar(db.select(User).where(User.pseudonym == f"AxeAdmin{name.title()}"))
            assert admin is not None and admin.is_admin
