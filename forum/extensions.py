"""Flask extensions, created unbound here and bound to the app in create_app."""

from __future__ import annotations

from flask_caching import Cache
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from forum.models.base import Base

db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[])
cache = Cache()
# gzip/brotli/zstd for pages, JSON and static files (a reverse proxy may do it instead).
compress = Compress()
