"""Tags by name: the ones that exist, and new ones added to the session for the rest."""

from __future__ import annotations

import sqlalchemy as sa

from forum.extensions import db
from forum.models import Tag

# Built once: every story posted or edited reads its tags so (building it cost more CPU than running it).
_TAGS_NAMED = sa.select(Tag).where(Tag.name.in_(sa.bindparam("names", expanding=True)))


def tags_named(names: list[str]) -> list[Tag]:
    if not names:
        return []
    found = {t.name: t for t in db.session.scalars(_TAGS_NAMED, {"names": names})}
    tags = []
    for name in names:
        if name not in found:
            found[name] = Tag(name=name)
            db.session.add(found[name])
        tags.append(found[name])
    return tags
