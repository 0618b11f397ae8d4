"""Examples quoted in forum/care/data/TAXONOMY.md, by kind: what each kind looks like in a parent's words
(positive kinds) and the hard negatives' examples (negative kinds). Tests use these, never the evaluation
sets."""

from __future__ import annotations

import re
from pathlib import Path

TAXONOMY = Path(__file__).resolve().parents[2] / "forum" / "care" / "data" / "TAXONOMY.md"
_QUOTE = re.compile(r"[\"“]([^\"”]{12,400})[\"”]")


def examples() -> dict[str, list[str]]:
    """{kind: quoted examples} from each kind's "In a parent's words." or "Examples." paragraph."""
    found: dict[str, list[str]] = {}
    kind = None
    for block in re.split(r"\n(?=### |\*\*)", TAXONOMY.read_text(encoding="utf-8")):
        if block.startswith("### "):
            kind = block[4:].split()[0]
            continue
        if kind and block.startswith(("**In a parent's words.**", "**Examples.**")):
            text = " ".join(block.split())
            found[kind] = [m.strip() for m in _QUOTE.findall(text)]
    return found


def hard_negatives() -> list[str]:
    """The quoted hard negatives in the positive kinds' sections (those that keep their meaning when quoted
    alone: the "nappy mountain" line is a negative only because of the laugh and the plan around it)."""
    text = TAXONOMY.read_text(encoding="utf-8")
    found = []
    for paragraph in re.findall(r"\*\*Hard negatives\.\*\*(.*?)(?=\n\*\*|\n### |\Z)", text, re.S):
        found += [m.strip() for m in _QUOTE.findall(" ".join(paragraph.split())) if "nappy mountain" not in m]
    return found
