"""/manifest.webmanifest, /sw.js (served from the root so its scope is the whole site) and /offline."""

from __future__ import annotations

import hashlib
import json

from flask import Blueprint, Response, render_template, url_for

from forum.templating import asset_url

bp = Blueprint("pwa", __name__)
# What the service worker keeps for offline use: the shell's static files (never a member's pages).
SHELL_ASSETS = (
    "css/site.css",
    "js/site.js",
    "js/app.js",
    "js/stories.js",
    "favicon.svg",
    "icons/icon-192.png",
    "icons/icon-512.png",
)
THEME = "#2f6b5a"


@bp.get("/manifest.webmanifest")
def manifest() -> Response:
    data = {
        "name": "Village: parents who have been there",
        "short_name": "Village",
        "description": "A kind place for parents to share hard moments and find others who have been there.",
        "id": "/",
        "start_url": "/?source=app",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "background_color": "#faf7f2",
        "theme_color": THEME,
        "lang": "en",
        "icons": [
            {
                "src": asset_url(f"icons/icon-{n}.png"),
                "sizes": f"{n}x{n}",
                "type": "image/png",
                "purpose": "any",
            }
            for n in (192, 512)
        ]
        + [
            {
                "src": asset_url("icons/icon-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            }
        ],
    }
    response = Response(json.dumps(data, indent=1), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/sw.js")
def service_worker() -> Response:
    assets = [asset_url(name) for name in SHELL_ASSETS]
    offline = url_for(".offline")
    shell = "\n".join([*assets, offline]).encode()
    version = hashlib.sha256(shell).hexdigest()[:12]  # nosemgrep - a cache version of public file names
    body = render_template("pwa/sw.js", assets=assets, offline=offline, version=version)
    response = Response(body, mimetype="text/javascript")
    # Browsers check for a new worker on navigation; never let a cache hold an old one.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/offline")
def offline() -> str:
    return render_template("pwa/offline.html")
