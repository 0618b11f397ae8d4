"""The installable app: manifest, icons, service worker (root scope, no cache), offline page, CSP."""

from __future__ import annotations

import json
import struct
from pathlib import Path

from tests import factories

STATIC = Path(__file__).resolve().parent.parent / "forum" / "static"


def test_manifest_names_the_app_and_its_icons(client):
    answer = client.get("/manifest.webmanifest")
    assert answer.status_code == 200 and answer.mimetype == "application/manifest+json"
    data = json.loads(answer.data)
    assert data["name"] and data["short_name"] == "Village" and data["display"] == "standalone"
    assert data["start_url"].startswith("/") and data["scope"] == "/"
    sizes = {icon["sizes"] for icon in data["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in data["icons"]:
        assert client.get(icon["src"]).status_code == 200
    assert 'rel="manifest" href="/manifest.webmanifest"' in client.get("/").text


def test_icons_are_real_pngs_of_the_stated_size():
    for size in (192, 512):
        data = (STATIC / "icons" / f"icon-{size}.png").read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", data[16:24])
        assert (width, height) == (size, size)


def test_service_worker_is_served_from_the_root_never_cached_and_lists_the_shell(client):
    answer = client.get("/sw.js")
    assert answer.status_code == 200 and answer.mimetype == "text/javascript"
    assert answer.headers["Cache-Control"] == "no-cache" and answer.headers["Service-Worker-Allowed"] == "/"
    body = answer.text
    assert '"/offline"' in body and "/static/css/site.css?v=" in body and "/static/js/app.js?v=" in body
    csp = answer.headers["Content-Security-Policy"]
    assert "worker-src 'self'" in csp and "manifest-src 'self'" in csp


def test_the_offline_page_holds_nothing_personal(app, member):
    page = factories.signed_in_client(app, member).get("/offline")
    assert page.status_code == 200 and "You're offline" in page.text
    assert member.pseudonym not in page.text and "csrf_token" not in page.text
