"""Tags by name: the ones that exist, and new ones added to the session for the rest."""

from __future__ import annotations

import sqlalchemy as sa

from forum.extensions import db
from forum.models import Tag


def tags_named(names: list[str]) -> list[Tag]:
    if not names:
        return []
    found = {t.name: t for t in db.session.scalars(sa.select(Tag).where(Tag.name.in_(names)))}
    tags = []
    for name in names:
        if name not in found:
            found[name] = Tag(name=name)
            db.session.add(found[name])
        tags.append(found[name])
    return tags
