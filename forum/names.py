"""Look-alike pseudonyms: one comparison key per name, so "ΑliceA" (Greek Alpha), "ＡliceA" (full-width) and
"Al1ceA" all collide with "AliceA", and nobody can take a name that reads as one of Village's own labels.

The key builds on the Unicode confusable skeleton (UTS #39) as ICU computes it, then folds what the skeleton
leaves apart but a reader would not tell apart in a name: letter case (the skeleton is case-sensitive and
maps a capital I to l, so i, I, l and 1 are folded together) and separators (spaces, dots, dashes,
underscores). A key is for comparing names only, never for display.

This module is pure (no database, no request), so the model can compute a member's key when it is saved."""

from __future__ import annotations

import functools
import unicodedata
from typing import Any

# Long enough for a 30-character pseudonym whose letters each expand ("m" becomes "rn"); longer keys are cut,
# which can only make two names collide, never let a look-alike through.
KEY_LENGTH = 120

# Labels Village shows in place of a name, and staff titles: no member may use them or a look-alike.
RESERVED_LABELS = (
    "Admin",
    "Admins",
    "Administrator",
    "Administrators",
    "Moderator",
    "Moderators",
    "Mod",
    "Mods",
    "Staff",
    "Support",
    "Official",
    "System",
    "Village",
    "Village Team",
    "Village Staff",
    "Village Admin",
    "Village Support",
    "Anonymous",
    "Anonymous parent",
    "Former member",
    "A former member",
    "Deleted member",
    "You",
)
# Staff titles that may not begin or end a name either ("Jane Moderator", "AdminSam"): with them a member
# could pass for staff. Inside a longer word they are harmless ("Badminton mum").
STAFF_WORDS = ("admin", "administrator", "moderator", "villageteam", "villagestaff")


@functools.cache
def _checker() -> Any:
    """ICU's checker (safe to share between threads for computing skeletons). Imported when a name is first
    checked: ICU's code and data are 7 MB of a web worker's memory, and most workers only serve pages."""
    from icu import SpoofChecker

    return SpoofChecker()


def _skeleton(text: str) -> str:
    return str(_checker().getSkeleton(0, text))


def lookalike_key(name: str) -> str:
    """The key two names share when a reader could mistake one for the other."""
    text = _skeleton(" ".join(name.split())).casefold()
    # Skeleton again after case-folding: folding can turn a letter into one that has a confusable of its own.
    text = _skeleton(text).replace("i", "l")
    kept = (ch for ch in text if unicodedata.category(ch)[0] in "LNM")
    return "".join(kept)[:KEY_LENGTH]


@functools.cache
def _reserved_keys() -> tuple[frozenset[str], tuple[str, ...]]:
    """The keys of the labels and of the staff words."""
    labels = frozenset(lookalike_key(label) for label in RESERVED_LABELS)
    return labels, tuple(lookalike_key(word) for word in STAFF_WORDS)


def is_reserved(name: str) -> bool:
    """Whether the name is, or looks like, one of Village's labels or a staff title."""
    key = lookalike_key(name)
    labels, staff_words = _reserved_keys()
    if not key or key in labels:
        return True
    return any(key.startswith(staff) or key.endswith(staff) for staff in staff_words)
