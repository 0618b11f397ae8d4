"""Village: a peer-support forum for parents. `create_app` reads like the table of contents."""

from __future__ import annotations

import os

# One BLAS thread per process: the embedding model runs in every gunicorn worker, and threads
# fighting over two cores made it ten times slower. Must be set before numpy is imported.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

from collections.abc import Mapping
from pathlib import Path

from flask import Flask, request
from werkzeug.routing import IntegerConverter, Map

from forum.config import Config, config_from_env

ROOT = Path(__file__).resolve().parent.parent


class RowId(IntegerConverter):
    """<int:…> in every route: ids beyond a 32-bit column (PostgreSQL's integer) are simply not found (404),
    instead of reaching the database and failing there."""

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = 2**31 - 1,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits, min, max, signed)


def create_app(config: Config | Mapping[str, object] | None = None) -> Flask:
    """Build the Village app from a Config (or a mapping of overrides) or from the environment."""
    if config is None:
        config = config_from_env()
    elif not isinstance(config, Config):
        config = Config(None, **config)
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        instance_path=config.INSTANCE_PATH,
        instance_relative_config=False,
    )
    app.config.from_mapping(config.as_dict())
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.url_map.converters["int"] = RowId

    register_extensions(app)
    register_security(app)
    register_blueprints(app)
    register_request_hooks(app)
    register_events(app)
    register_page_cache(app)
    register_error_handlers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from forum import database
    from forum.auth.sessions import register_user_loader
    from forum.extensions import cache, compress, csrf, db, limiter, login_manager

    db.init_app(app)
    database.configure_engine(app)
    if app.config["MIGRATIONS"]:
        # `flask db ...` (Flask-Migrate). Web workers go without: alembic costs each of them 10 MB of memory.
        from flask_migrate import Migrate

        Migrate(app, db, directory=str(ROOT / "migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    limiter.init_app(app)
    cache.init_app(app)
    compress.init_app(app)
    login_manager.init_app(app)
    register_user_loader(login_manager)


def register_security(app: Flask) -> None:
    from forum import security

    security.init_app(app)


def register_blueprints(app: Flask) -> None:
    from forum.atom import bp as atom_bp
    from forum.auth import bp as auth_bp
    from forum.care import bp as care_bp
    from forum.feeds import bp as feeds_bp
    from forum.following import bp as following_bp
    from forum.moderation import bp as moderation_bp
    from forum.notifications import bp as notifications_bp
    from forum.notifications.mail import bp as mail_bp
    from forum.pages import bp as pages_bp
    from forum.pwa import bp as pwa_bp
    from forum.similar import bp as similar_bp
    from forum.stories import bp as stories_bp

    app.register_blueprint(pages_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(feeds_bp)
    app.register_blueprint(stories_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(mail_bp)
    app.register_blueprint(atom_bp)
    app.register_blueprint(following_bp)
    app.register_blueprint(pwa_bp)
    app.register_blueprint(moderation_bp)
    app.register_blueprint(similar_bp)
    app.register_blueprint(care_bp)


def register_request_hooks(app: Flask) -> None:
    """Every app-wide before-request hook, in the order they run (after the extensions' own: CSRF, limiter,
    sign-in). The features keep the functions; only this registers them."""
    from forum import params
    from forum.following import routes as following_routes
    from forum.moderation import routes as moderation_routes
    from forum.notifications import routes as notification_routes

    # Refuse an oversized or too deeply nested JSON body before anything parses it.
    app.before_request(params.check_json_body)
    # Deliver the signed-in member's due update reminders (at most every ten minutes).
    app.before_request(notification_routes.deliver_due_reminders)
    # On a story page: remember what is new to the member (the unread marker) and move her visit on.
    app.before_request(following_routes.mark_story_read)
    # Tell a member, once, that her suspension or silence is over.
    app.before_request(moderation_routes.end_finished_restrictions)


def register_events(app: Flask) -> None:
    """Every before-write check and post signal listener, in the order they run.

    Before a write: care's block rule first (a reply across a block is refused before anything else looks at
    it), then moderation's checks (restrictions, rate limit, repeats, watched words, first posts, links).
    After a commit: care's check of the new post, moderation's flags, the similar-stories index, and last
    the page cache (register_page_cache), so a cached page is dropped after everything that changes it.
    Session listeners: the lifecycle forgets a rolled-back transaction's announcements; the mail outbox
    queues mail from what each flush wrote and tells followers of a reply before the commit.
    Registering twice (several apps in one process, as in the tests) changes nothing."""
    from forum.care import preferences as care_preferences
    from forum.care import services as care_services
    from forum.jobs import worker as jobs_worker
    from forum.moderation import protection
    from forum.notifications.mail import outbox
    from forum.similar import store as similar_store
    from forum.stories import lifecycle

    care_preferences.install()
    care_services.install()
    protection.install()
    similar_store.install()
    lifecycle.install()
    outbox.install()
    jobs_worker.install()


def register_page_cache(app: Flask) -> None:
    from forum import drafts, fragments, memberpages, pagecache
    from forum.auth import sessions
    from forum.following import services as following_services
    from forum.notifications import routes as notification_routes
    from forum.notifications import services as notification_services
    from forum.params import page_arg
    from forum.similar import routes as similar_routes
    from forum.stories import kept_page, submissions

    # Story cards and replies kept by id and version, dropped on every post signal: before the page cache,
    # which listens last, so a page is never stored from a fragment that is about to go.
    fragments.init_app(app)
    # Members' kept pages (feeds, story, /not-alone, notifications, the empty compose form) wrapped first, so
    # the visitors' page cache, wrapped around them, serves a visitor before anything asks who is signed in.
    memberpages.init_app(app)
    memberpages.keep_shared_page(app, "stories.show", kept_page.reader_bits)
    memberpages.keep_personal_page(app, "similar.not_alone", similar_routes.kept_page_version)
    memberpages.keep_personal_page(app, "notifications.index", notification_routes.kept_page_version)

    # What those pages are kept under, and the story page's visit, are read with her sign-in (one statement for
    # the whole kept page).
    def story_id() -> int:
        return int((request.view_args or {}).get("story_id", 0))

    sessions.read_with_sign_in(
        "stories.show",
        following_services.opening_text(sessions.SIGNED_IN_ID),
        following_services.OPENING_KEPT,
        lambda: following_services.opening_params(story_id()),
    )
    sessions.read_with_sign_in(
        "stories.show",
        kept_page.reader_bits_text(sessions.SIGNED_IN_ID),
        kept_page.READER_BITS_KEPT,
        lambda: kept_page.reader_bits_params(story_id()),
    )
    sessions.read_with_sign_in(
        "similar.not_alone", similar_routes.OWN_RECENT_TEXT, similar_routes.OWN_RECENT_TEXT_KEPT
    )
    sessions.read_with_sign_in(
        "notifications.index",
        notification_services.PAGE_TEXT,
        notification_services.PAGE_TEXT_KEPT,
        lambda: notification_services.page_params(page_arg(), notification_routes.PER_PAGE),
    )
    # Posting a reply: whether a reply already has its submission key (a second tap) and whether she has a
    # draft of it to delete, both nearly always "no", read with her sign-in rather than in statements of their own.
    sessions.read_with_sign_in(
        "stories.reply", submissions.REPLY_KEY_TEXT, submissions.REPLY_KEY_KEPT, submissions.reply_key_params
    )
    sessions.read_with_sign_in(
        "stories.reply",
        drafts.HAS_REPLY_DRAFT,
        drafts.REPLY_DRAFT_KEPT,
        lambda: drafts.reply_draft_params(story_id()),
    )
    pagecache.init_app(app)


def register_error_handlers(app: Flask) -> None:
    from forum import errors

    errors.register_error_handlers(app)


def register_template_helpers(app: Flask) -> None:
    from forum import templating

    templating.init_app(app)


def register_commands(app: Flask) -> None:
    from forum import cli

    cli.init_app(app)
