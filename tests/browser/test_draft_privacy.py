"""A family tablet (issue 12, finding 12): the browser's copy of a draft belongs to the member who wrote it.

One parent writes, signs out (or simply hands the tablet over), another signs in on the same browser:
nothing of the first parent's draft is offered, and nothing of it is left in the browser's storage.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from forum.extensions import db

pytestmark = pytest.mark.browser
SECRET = "I haven't told anyone, but most nights I sit in the car and cry before going in. (tablet test)"


def _sign_in_on(page: Any, live_app: Flask, live_server: str, pseudonym: str) -> None:
    """Sign a new member in on this page's browser context (same storage), replacing any session cookie."""
    from forum.auth.sessions import start_session
    from tests import factories

    with live_app.app_context():
        user = factories.make_user(pseudonym=pseudonym)
        token = start_session(user, "browser test")
        db.session.commit()
        cookie = live_app.session_interface.get_signing_serializer(live_app).dumps(  # type: ignore[attr-defined]
            {"_user_id": token, "_fresh": True}
        )
    page.context.add_cookies(
        [{"name": live_app.config["SESSION_COOKIE_NAME"], "value": cookie, "url": live_server}]
    )


def _draft_copies(page: Any) -> list[str]:
    return page.evaluate(
        "Object.keys(localStorage).filter(k => k.indexOf('village:draft:') === 0)"
        ".map(k => k + ' ' + localStorage.getItem(k))"
    )


def _write_a_draft(page: Any, base: str) -> None:
    page.goto(base + "/stories/new")
    page.fill("#title", "Nobody knows")
    page.fill("#body", SECRET)
    page.check("input[name=anonymous]")
    for _ in range(
        50
    ):  # the copy is saved 300 ms after typing stops (the page's CSP forbids wait_for_function)
        copies = _draft_copies(page)
        if copies:
            break
        page.wait_for_timeout(100)
    assert len(copies) == 1 and "Nobody knows" in copies[0]
    # The key is opaque: neither the member's name nor a bare id.
    assert "TabletMum" not in copies[0].split(" ")[0] and not copies[0].split(":")[2].isdigit()


def _assert_nothing_of_hers(page: Any, base: str) -> None:
    page.goto(base + "/stories/new")
    page.wait_for_load_state("load")
    assert page.input_value("#body") == ""
    assert page.input_value("#title") == ""
    assert not page.is_checked("input[name=anonymous]")
    assert "We restored your draft" not in page.content()
    assert not any(SECRET[:30] in copy for copy in _draft_copies(page))


def test_a_draft_is_gone_after_sign_out_and_never_offered_to_the_next_member(
    live_app: Flask, live_server: str, new_page: Any
) -> None:
    page = new_page()
    _sign_in_on(page, live_app, live_server, "TabletMum")
    _write_a_draft(page, live_server)
    page.click("button:has-text('Sign out')")
    page.wait_for_load_state("load")
    assert _draft_copies(page) == []
    _sign_in_on(page, live_app, live_server, "TabletDad")
    _assert_nothing_of_hers(page, live_server)


def test_handing_over_without_signing_out_still_offers_nothing(
    live_app: Flask, live_server: str, new_page: Any
) -> None:
    page = new_page()
    _sign_in_on(page, live_app, live_server, "TabletMum")
    _write_a_draft(page, live_server)
    _sign_in_on(page, live_app, live_server, "TabletGran")  # her session replaced, no sign-out
    _assert_nothing_of_hers(page, live_server)
