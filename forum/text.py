"""Text handling shared by every feature: cleaning input, rendering the Markdown subset safely, parsing tags."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from forum.errors import ValidationFailed

MAX_TAGS = 8
TAG_MIN, TAG_MAX = 2, 30

# Paragraphs, emphasis, lists, quotes and links only; no raw HTML, images, headings, code or tables.
_md = MarkdownIt("zero", {"html": False, "breaks": True, "linkify": False}).enable(
    ["emphasis", "list", "blockquote", "link", "autolink", "newline", "escape"]
)
_ALLOWED_TAGS = {"p", "br", "em", "strong", "ul", "ol", "li", "blockquote", "a"}
_ALLOWED_ATTRIBUTES = {"a": {"href"}, "ol": {"start"}}
_URL_SCHEMES = {"http", "https", "mailto"}
_LINK_REL = "nofollow ugc noopener"

# C0 controls except \t and \n, DEL, C1 controls, and lone surrogates.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# Bounded repeats keep this linear on long unbroken input (an unbounded \S+:// is quadratic: found by the
# hypothesis tests, 60,000 characters took 3 s).
_URLISH = re.compile(r"[A-Za-z][A-Za-z0-9+.-]{0,31}://\S*|\]\([^()\[\]\s]{0,2048}\)|&#?\w{1,32};")


def clean_text(text: str | None) -> str:
    """Normalise line endings and strip control characters, keeping every other character as typed."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", text)


def clean_line(text: str | None) -> str:
    """A single-line input (title, tags): cleaned, newlines and tabs become spaces, trimmed."""
    return re.sub(r"[\n\t]+", " ", clean_text(text)).strip()


# The Markdown parser makes a token for every '[', '*', '_' or '\\' it meets (about 60 µs each: 20,000 of them
# took 1.4 s). No story needs more than a few hundred: past this count a text is shown as plain paragraphs.
MAX_MARKUP_CHARS = 1000
_MARKUP_CHARS = "[]*_`\\"


def _plain_html(text: str) -> str:
    """Paragraphs and line breaks only, everything else escaped: linear whatever the text."""
    paragraphs = (p.strip("\n") for p in re.split(r"\n\s*\n", text))
    return "".join(f"<p>{escape(p)}</p>".replace("\n", "<br>\n") for p in paragraphs if p.strip())


def render_markdown(text: str) -> str:
    """Render the Markdown subset to sanitised HTML; links get rel="nofollow ugc noopener"."""
    text = text or ""
    markup = sum(text.count(char) for char in _MARKUP_CHARS)
    html = _plain_html(text) if markup > MAX_MARKUP_CHARS else _md.render(text)
    return nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes=_URL_SCHEMES,
        link_rel=_LINK_REL,
        strip_comments=True,
    )


def markdown_filter(text: str) -> Markup:
    """Jinja filter: the text rendered and sanitised, safe to output."""
    return Markup(render_markdown(text))  # nosec B704 - sanitised by nh3 in render_markdown


def _is_tag_char(char: str) -> bool:
    return char != "_" and unicodedata.category(char)[0] in "LMN"


def normalise_tag(raw: str) -> str:
    """Case-insensitive letters and digits only: '#Drop-Off' -> 'dropoff'."""
    folded = unicodedata.normalize("NFKC", raw).casefold()
    return unicodedata.normalize("NFC", "".join(c for c in folded if _is_tag_char(c)))


def extract_hashtags(body: str) -> list[str]:
    """Hashtags written in a text, glued ones split: '#mum#mumlife' -> ['mum', 'mumlife']."""
    text = _URLISH.sub(" ", body or "")
    found: list[str] = []
    i = 0
    while (i := text.find("#", i)) != -1:
        j = i + 1
        while j < len(text) and _is_tag_char(text[j]):
            j += 1
        word = text[i + 1 : j]
        # '#1' or '#2023' is a number, not a tag (as on most sites).
        if word and not all(unicodedata.category(c) == "Nd" for c in word):
            found.append(word)
        i = j
    return found


def split_tag_field(field: str) -> list[str]:
    """The typed tags field split on commas, spaces and '#': 'nursery, #dropoff guilt' -> 3 words."""
    return [part for part in re.split(r"[\s,;#]+", clean_line(field)) if part]


def parse_tags(typed: str | Iterable[str] | None = "", body: str = "") -> list[str]:
    """The story's normalised tags (typed first, then body hashtags), deduplicated; raises on bad typed tags."""
    typed = typed or ""
    words = (
        split_tag_field(typed) if isinstance(typed, str) else [w for t in typed for w in split_tag_field(t)]
    )
    tags: list[str] = []
    errors: list[str] = []
    for word in words:
        tag = normalise_tag(word)
        if not TAG_MIN <= len(tag) <= TAG_MAX:
            errors.append(word)
        elif tag not in tags:
            tags.append(tag)
    for word in extract_hashtags(body):
        tag = normalise_tag(word)
        # Hashtags in the story are picked up quietly; odd-length ones are simply left as text.
        if TAG_MIN <= len(tag) <= TAG_MAX and tag not in tags:
            tags.append(tag)
    if errors:
        shown = ", ".join(f"“{e}”" for e in errors[:3])
        raise ValidationFailed(
            [("tags", f"Each tag needs {TAG_MIN}–{TAG_MAX} letters or numbers. Please change {shown}.")]
        )
    if len(tags) > MAX_TAGS:
        raise ValidationFailed(
            [
                (
                    "tags",
                    f"A story can have at most {MAX_TAGS} tags, and this one has {len(tags)} "
                    f"(counting #hashtags in the story). Please remove {len(tags) - MAX_TAGS}.",
                )
            ]
        )
    return tags


def quote_markdown(text: str) -> str:
    """Text turned into a Markdown quote ('> ' before every line), followed by an empty line."""
    lines = clean_text(text).strip().split("\n")
    return "\n".join(f"> {line}".rstrip() for line in lines) + "\n\n"


def first_paragraph(text: str, limit: int = 1200) -> str:
    """The first paragraph (or list) of a Markdown text, its lines kept, quoted blocks skipped; what a quote
    takes when nothing is selected."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", clean_text(text).strip()) if b.strip()]
    block = next((b for b in blocks if not b.startswith(">")), blocks[0] if blocks else "")
    if len(block) > limit:
        block = block[:limit].rsplit(" ", 1)[0] + "…"
    return block


def quote_attribution(label: str) -> str:
    """ "NAME wrote:" from an author label; a "(who shared this story)" note is dropped."""
    name = re.sub(r"\s*\([^()]*\)$", "", label).strip() or "Someone"
    return f"{name[0].upper()}{name[1:]} wrote:"


def excerpt(text: str, limit: int = 200) -> str:
    """A plain-text start of a Markdown text, cut at a word boundary."""
    plain = re.sub(r"\]\([^()]{0,2048}\)", "]", clean_text(text))  # bounded: "](" repeated was quadratic
    plain = re.sub(r"[*_>`\[\]]", "", plain)
    plain = re.sub(r"\s+", " ", plain).strip()
    if len(plain) <= limit:
        return plain
    cut = plain[:limit].rsplit(" ", 1)[0]
    return cut + "…"


# One character repeated more than three times reads the same with three ("soooo" -> "sooo"); long runs of
# '#', emoji or combining marks are where adversarial input makes tokenisers and scanners slow.
_RUN = re.compile(r"(.)\1{3,}", re.DOTALL)


def bounded_text(text: str | None, max_chars: int) -> str:
    """At most max_chars of text with runs of one character cut to three: what expensive work (embedding a
    query, scanning for patterns) is given, so its cost has a ceiling whatever was typed."""
    return _RUN.sub(lambda m: m.group(1) * 3, (text or "")[: max_chars * 2])[:max_chars]


# Markdown that can sit inside a word without showing: emphasis marks, code ticks, link brackets, escapes.
_INLINE_MARKUP = re.compile(r"[*_`~\\]|\]\([^()\s]{0,2048}\)|[\[\]]")
_INVISIBLE_CATEGORIES = {"Cf", "Mn", "Me"}  # zero-width and formatting characters, combining marks


def normalise_for_matching(text: str | None) -> str:
    """Text as it reads, for matching words and comparing posts: NFKC (full-width and styled letters become
    plain), zero-width and formatting characters, combining marks and inline Markdown removed, case-folded,
    spaces collapsed. '**block**word', 'ｂｌｏｃｋword' and 'block\u200bword' all become 'blockword'.
    Linear in the length of the text."""
    text = clean_text(text)
    if text.isascii():  # nothing to fold or drop but Markdown and case (most posts)
        return " ".join(_INLINE_MARKUP.sub("", text).lower().split())
    text = unicodedata.normalize("NFKC", text)
    text = "".join(c for c in text if unicodedata.category(c) != "Cf")
    text = unicodedata.normalize("NFD", _INLINE_MARKUP.sub("", text).casefold())
    text = "".join(c for c in text if unicodedata.category(c) not in _INVISIBLE_CATEGORIES)
    return " ".join(unicodedata.normalize("NFKC", text).split())
