"""Browser fixtures: the app served from a thread with its own database, driven by headless Chromium.

Skipped with a clear reason when Chromium or Playwright is missing, unless VILLAGE_REQUIRE_BROWSER=1 (CI).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from forum.extensions import db
from tests.conftest import empty_tables, make_app

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--disable-sync",
    "--disable-quic",
]
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
DESKTOP = {"viewport": {"width": 1366, "height": 900}}
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}


def _unavailable(reason: str) -> None:
    if os.environ.get("VILLAGE_REQUIRE_BROWSER") == "1":
        pytest.fail(f"Browser tests are required here but cannot run: {reason}")
    pytest.skip(f"Browser tests skipped: {reason} (install Chromium: apt-get install -y chromium)")


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """A headless Debian Chromium driven by Playwright, shared by the whole session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        _unavailable(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """The app with CSRF on and its own SQLite file, so it never touches the main test database."""
    tmp = tmp_path_factory.mktemp("live")
    site = make_app(tmp, f"sqlite:///{tmp / 'live.db'}", WTF_CSRF_ENABLED=True)
    with site.app_context():
        db.create_all()
    yield site
    with site.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(live_app: Flask) -> Iterator[str]:
    """Serve the live app on a free 127.0.0.1 port from a daemon thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(autouse=True)
def _empty_live_database(request: pytest.FixtureRequest) -> Iterator[None]:
    """Browser tests start from an empty live database too."""
    yield
    if "live_app" in request.fixturenames:
        site: Flask = request.getfixturevalue("live_app")
        with site.app_context():
            empty_tables()


@pytest.fixture(params=list(VIEWPORTS), ids=list(VIEWPORTS))
def viewport(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Run a journey at phone size and at desktop size."""
    return VIEWPORTS[request.param]


@pytest.fixture
def new_page(chromium: Any) -> Iterator[Callable[..., Any]]:
    """Open fresh browser contexts (separate cookie jars) at a viewport; closed after the test."""
    contexts: list[Any] = []

    def open_page(size: dict[str, Any] | None = None) -> Any:
        context = chromium.new_context(**(size or PHONE))
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def make_member(live_app: Flask) -> Callable[..., Any]:
    """Create a member directly in the live site's database."""
    from tests import factories

    def create(pseudonym: str, **fields: Any) -> Any:
        with live_app.app_context():
            user = factories.make_user(pseudonym=pseudonym, **fields)
            db.session.expunge(user)
            return user

    return create


@pytest.fixture
def sign_in_page(live_app: Flask, live_server: str, new_page: Callable[..., Any]) -> Callable[..., Any]:
    """A page already signed in as a new member (through a real server-side login session)."""
    from forum.auth.sessions import start_session
    from tests import factories

    def open_signed_in(pseudonym: str, size: dict[str, Any] | None = None, role: str = "member") -> Any:
        with live_app.app_context():
            user = factories.make_user(pseudonym=pseudonym, role=role)
            token = start_session(user, "browser test")
            db.session.commit()
            cookie = live_app.session_interface.get_signing_serializer(live_app).dumps(  # type: ignore[attr-defined]
                {"_user_id": token, "_fresh": True}
            )
        page = new_page(size)
        page.context.add_cookies(
            [{"name": live_app.config["SESSION_COOKIE_NAME"], "value": cookie, "url": live_server}]
        )
        return page

    return open_signed_in


def no_horizontal_scroll(page: Any) -> bool:
    """True when the page fits the viewport's width."""
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))
