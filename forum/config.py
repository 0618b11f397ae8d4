"""Configuration from environment variables, with safe defaults."""

from __future__ import annotations

import os
import secrets
from pathlib import Path


class ConfigError(RuntimeError):
    """The app cannot start with this configuration."""


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _dev_secret_key(instance_path: Path) -> str:
    """Generate a secret key once and keep it under instance/ so sessions survive restarts."""
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Created with 0600 so other local users cannot read it.
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def normalise_database_url(url: str) -> str:
    """Accept the common `postgres://` spellings and use psycopg 3."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class Config:
    """Settings shared by every environment; read from the environment at app creation."""

    ENV_NAME = "development"
    TESTING = False

    # Sessions and cookies
    SESSION_COOKIE_NAME = "village_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False  # also set per request when served over HTTPS
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * 30
    PERMANENT_SESSION_LIFETIME = 60 * 60 * 24 * 14

    # Forms: a CSRF token lives as long as the session; expiry is still handled gracefully.
    WTF_CSRF_TIME_LIMIT = 60 * 60 * 12
    WTF_CSRF_SSL_STRICT = True

    # Request body limit: the longest story is 20,000 characters; leave room for multi-byte text.
    MAX_CONTENT_LENGTH = 256 * 1024
    MAX_FORM_MEMORY_SIZE = 256 * 1024

    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_RECORD_QUERIES = False

    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = False
    RATELIMIT_SWALLOW_ERRORS = True  # a Redis outage must not take reads down

    CACHE_DEFAULT_TIMEOUT = 60
    # Signed-out visitors' pages (forum.pagecache): invalidated on every content write; this bounds the rest.
    PAGE_CACHE_ENABLED = True
    PAGE_CACHE_SECONDS = 30

    # Password hashing (argon2id); tests lower the cost.
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 64 * 1024
    ARGON2_PARALLELISM = 2

    PASSWORD_RESET_MAX_AGE = 60 * 60  # seconds
    MAIL_DEFAULT_SENDER = "Village <no-reply@village.local>"

    # Behind a reverse proxy: how many proxies set X-Forwarded-* headers.
    PROXY_FIX_HOPS = 0

    LOAD_DEMO_CONTENT = False

    # Distinct members whose reports hide a post until a moderator looks (welfare reports never count).
    AUTO_HIDE_FLAGS = 3

    # Compute a story's "you're not alone" vector as soon as it is posted or edited.
    SIMILAR_EMBED_ON_WRITE = True
    # Sentence model for similar stories: "minilm" or "mpnet" (forum/similar/engine.py; None: its default).
    # Changing it on a site with stories needs `flask similar rebuild`.
    SIMILAR_MODEL: str | None = None
    # Past this many stories with vectors each host serves similar stories from an approximate index in one
    # memory-mapped file (forum/similar/ann.py) instead of an exact index in every worker.
    SIMILAR_ANN_THRESHOLD = 250_000

    # The `flask db` migration commands (Flask-Migrate, alembic). gunicorn.conf.py turns them off in web workers,
    # which never migrate (VILLAGE_MIGRATIONS=0): alembic costs each worker 10 MB.
    MIGRATIONS = True

    # Check new stories and replies for crisis language and show their writer a support card.
    CARE_CHECK_ON_WRITE = True

    # Background jobs (forum.jobs): run by `flask jobs work --forever`; inline runs a transaction's jobs right
    # after its commit in the same process (the tests, or a site without a worker).
    JOBS_INLINE = False
    JOBS_LEASE_SECONDS = 300

    # Local time of the community: update reminders are never delivered between 21:00 and 08:00 here.
    SITE_TIMEZONE = "Europe/London"

    def __init__(self, instance_path: str | Path | None = None, **overrides: object) -> None:
        instance = Path(instance_path or os.environ.get("VILLAGE_INSTANCE_PATH") or Path.cwd() / "instance")
        self.INSTANCE_PATH = str(instance)
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(
            os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'village.db'}"
        )
        self.SECRET_KEY = os.environ.get("SECRET_KEY") or self._fallback_secret_key(instance)
        self.REDIS_URL = os.environ.get("REDIS_URL") or None
        self.RATELIMIT_STORAGE_URI = self.REDIS_URL or "memory://"
        self.CACHE_TYPE = "RedisCache" if self.REDIS_URL else "SimpleCache"
        if self.REDIS_URL:
            self.CACHE_REDIS_URL = self.REDIS_URL
        self.SERVER_NAME = os.environ.get("SERVER_NAME") or None
        self.SESSION_COOKIE_SECURE = _env_bool("SESSION_COOKIE_SECURE", self.SESSION_COOKIE_SECURE)
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.PROXY_FIX_HOPS = _env_int("PROXY_FIX_HOPS", self.PROXY_FIX_HOPS)
        self.MIGRATIONS = _env_bool("VILLAGE_MIGRATIONS", self.MIGRATIONS)
        # Off only for benchmarks and trusted loads: write limits would turn the load away.
        self.RATELIMIT_ENABLED = _env_bool("RATELIMIT_ENABLED", self.RATELIMIT_ENABLED)
        self.MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
        self.MAIL_PORT = _env_int("MAIL_PORT", 25)
        self.MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
        self.MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
        self.MAIL_USE_TLS = _env_bool("MAIL_USE_TLS")
        self.MAIL_USE_SSL = _env_bool("MAIL_USE_SSL")
        self.MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER") or self.MAIL_DEFAULT_SENDER
        self.SITE_TIMEZONE = os.environ.get("SITE_TIMEZONE") or self.SITE_TIMEZONE
        self.SIMILAR_MODEL = os.environ.get("SIMILAR_MODEL") or self.SIMILAR_MODEL
        # Notification mail (forum.notifications.mail): links in mail point here; see the README.
        self.SITE_URL = (os.environ.get("SITE_URL") or "http://127.0.0.1:5000").rstrip("/")
        self.MAIL_HOURLY_CAP = _env_int("MAIL_HOURLY_CAP", 6)
        self.MAIL_LEASE_SECONDS = _env_int("MAIL_LEASE_SECONDS", 300)
        self.MAIL_MESSAGE_ID_DOMAIN = os.environ.get("MAIL_MESSAGE_ID_DOMAIN") or "village.local"
        self.AUTO_HIDE_FLAGS = _env_int("AUTO_HIDE_FLAGS", self.AUTO_HIDE_FLAGS)
        self.JOBS_INLINE = _env_bool("JOBS_INLINE", self.JOBS_INLINE)
        self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(self.SQLALCHEMY_DATABASE_URI)
        for key, value in overrides.items():
            setattr(self, key, value)

    def _fallback_secret_key(self, instance: Path) -> str:
        return _dev_secret_key(instance)

    def as_dict(self) -> dict[str, object]:
        """Every upper-case setting, class and instance alike, for app.config.from_mapping."""
        return {name: getattr(self, name) for name in dir(self) if name.isupper()}


class ProductionConfig(Config):
    """Production: refuses to start without an explicit SECRET_KEY; secure cookies."""

    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    WTF_CSRF_SSL_STRICT = True

    def _fallback_secret_key(self, instance: Path) -> str:
        raise ConfigError("SECRET_KEY must be set in production (VILLAGE_ENV=production).")


class TestConfig(Config):
    """Tests: a throwaway database, fast hashing, no rate limits unless a test turns them on."""

    ENV_NAME = "testing"
    TESTING = True
    WTF_CSRF_ENABLED = False
    RATELIMIT_ENABLED = False
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    ARGON2_PARALLELISM = 1
    CACHE_TYPE = "NullCache"
    # Most tests don't need vectors; the similar-stories tests turn this on.
    SIMILAR_EMBED_ON_WRITE = False
    CARE_CHECK_ON_WRITE = False
    # A write's background jobs run right after its commit; tests of the queue itself turn this off.
    JOBS_INLINE = True

    def __init__(self, instance_path: str | Path | None = None, **overrides: object) -> None:
        overrides.setdefault("SECRET_KEY", "test-secret-key")
        super().__init__(instance_path, **overrides)
        self.CACHE_TYPE = "NullCache"
        self.RATELIMIT_STORAGE_URI = "memory://"
        if "SQLALCHEMY_DATABASE_URI" in overrides:
            self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(self.SQLALCHEMY_DATABASE_URI)


def engine_options(url: str) -> dict[str, object]:
    """Connection pool settings (for PostgreSQL, a connection idle in the pool is checked before use, so a
    restarted server is reconnected transparently: forum.database)."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 15, "check_same_thread": False}}
    return {
        "pool_size": _env_int("DB_POOL_SIZE", 5),
        "max_overflow": _env_int("DB_MAX_OVERFLOW", 5),
        "pool_recycle": 1800,
    }


def config_from_env() -> Config:
    """Pick the configuration class named by VILLAGE_ENV (development by default)."""
    env = os.environ.get("VILLAGE_ENV", "development").lower()
    if env == "production":
        return ProductionConfig()
    return Config()
