"""Support resources: the defaults Village ships (to be checked before launch) and the admin-edited list."""

from __future__ import annotations

from itertools import groupby

import sqlalchemy as sa

from forum.extensions import db
from forum.models import SupportResource

# (name, helps with, phone, web address, hours, region). Verify every entry before launch.
DEFAULTS = [
    (
        "Samaritans",
        "Anyone struggling to cope, or having thoughts of suicide",
        "116 123",
        "https://www.samaritans.org",
        "24 hours, every day",
        "UK",
    ),
    (
        "NHS 111",
        "Urgent medical and mental health help (choose the mental health option)",
        "111",
        "https://111.nhs.uk",
        "24 hours, every day",
        "UK",
    ),
    (
        "PANDAS Foundation",
        "Parents with perinatal (pre- and postnatal) mental illness",
        "0808 1961 776",
        "https://pandasfoundation.org.uk",
        "Check the website for helpline hours",
        "UK",
    ),
    (
        "Family Lives",
        "Any aspect of parenting and family life",
        "0808 800 2222",
        "https://www.familylives.org.uk",
        "Check the website for helpline hours",
        "UK",
    ),
    (
        "988 Suicide & Crisis Lifeline",
        "Anyone in emotional distress or suicidal crisis: call or text",
        "988",
        "https://988lifeline.org",
        "24 hours, every day",
        "US",
    ),
    (
        "Postpartum Support International",
        "Parents with postpartum depression and anxiety: call or text",
        "1-800-944-4773",
        "https://www.postpartum.net",
        "Check the website for hours",
        "US",
    ),
]
EMERGENCY_NOTE = "If you or a child are in immediate danger, call 999 (UK) or 911 (US)."


def seed_defaults() -> int:
    """Add the shipped defaults when the list is empty; returns how many were added."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(SupportResource)):
        return 0
    for position, (name, helps, phone, url, hours, region) in enumerate(DEFAULTS):
        db.session.add(
            SupportResource(
                name=name,
                helps_with=helps,
                phone=phone,
                url=url,
                hours=hours,
                region=region,
                position=position,
                needs_check=True,
            )
        )
    db.session.commit()
    return len(DEFAULTS)


def all_resources() -> list[SupportResource]:
    """Every resource, by region then position; the defaults are added on first use."""
    seed_defaults()
    return list(
        db.session.scalars(
            sa.select(SupportResource).order_by(
                SupportResource.region, SupportResource.position, SupportResource.id
            )
        )
    )


def by_region() -> list[tuple[str, list[SupportResource]]]:
    """Resources grouped by region, for the support page and the card."""
    return [
        (region or "Everywhere", list(items))
        for region, items in groupby(all_resources(), key=lambda r: r.region)
    ]


def as_lines() -> list[str]:
    """One line per resource, for plain-text messages."""
    return [f"{r.name} ({r.region}): {r.phone}{', ' + r.url if r.url else ''}" for r in all_resources()]
