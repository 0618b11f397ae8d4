"""The rule layer of the care detector: text normalisation, the reading budget, sentence splitting, the
reviewed phrase list and the context rules (negation, idioms, jokes, advice, accidents, past told as
recovery).

Pure functions and small classes; no numpy, no Flask. ``forum.care.detector`` combines them with the
classifier.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

DATA = Path(__file__).parent / "data"
PHRASES_PATH = DATA / "phrases.txt"
CONTEXT_PATH = DATA / "context.json"
NEGATION_WINDOW = 7  # words before a phrase that may negate it ("I don't think they'd be better off...")
MAX_WORDS = 60  # longer run-on "sentences" are cut into chunks before embedding
# The reading budget per text, applied before any regex or embedding, so the work is bounded whatever arrives:
MAX_CHARS = 20_000  # a whole story; of anything longer, the first 15,000 and the last 5,000 characters
MAX_RUN = 3  # "nooooooo" reads as "nooo"; a run of 20,000 '#' as three
MAX_WORD_CHARS = 40  # longer "words" are cut (no phrase word is longer)
MAX_SENTENCES = 200  # sentences given to the phrase rules: the first 150 and the last 50
MAX_EMBEDDED = (
    32  # sentences given to the classifier per text (those with crisis cues first; duplicates once)
)


# ---------------------------------------------------------------- text normalisation

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff\u00ad]")
_REWRITES = [
    (re.compile(p), r)
    for p, r in [
        (r"\bcan'?t\b|\bcan not\b", "cannot"),
        (r"\bwon'?t\b", "will not"),
        (r"\bshan'?t\b", "shall not"),
        (r"\bain'?t\b", "am not"),
        (r"\b(\w+)n't\b", r"\1 not"),
        (r"\b(do|does|did|is|are|was|were|would|could|should|have|has|had|need)nt\b", r"\1 not"),
        (r"\bi'?m\b", "i am"),
        (r"\bive\b", "i have"),
        (r"\b(you|they|we)re\b", r"\1 are"),
        (r"\b(it|that|there|he|she)'?s been\b", r"\1 has been"),
        (r"\b(it|that|there|what|he|she|who|here|everything|nothing|life)'s\b", r"\1 is"),
        (r"\b(that|there|what)s\b", r"\1 is"),
        (r"'re\b", " are"),
        (r"'ve\b", " have"),
        (r"'ll\b", " will"),
        (r"'d\b", " would"),
        (r"\bgonna\b", "going to"),
        (r"\bwanna\b", "want to"),
        (r"\bany more\b", "anymore"),
        (r"\bno one\b", "noone"),
        (r"\bha(?:ha)+h?\b", "haha"),
        (r"[^a-z0-9* ]+", " "),
    ]
]
_CLAUSE_PUNCT = re.compile(r"[,;:()\u2013\u2014]|\s-\s")
_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])[\"'\u201d\u2019)\]]*\s+|\s*\n\s*")


# A sentence is normalised several times in one check (for the recovery look, as a whole, as its one clause), and
# 22 substitutions a time are most of the rules' cost: the results are kept (pure function of its text).
@functools.lru_cache(maxsize=2048)
def normalise(text: str) -> str:
    """Lower-case words only, with contractions spelt out (I'm -> i am, can't -> cannot)."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).translate(_QUOTES).lower()
    text = text.replace("-", " ")
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


_RUN = re.compile(rf"(.)\1{{{MAX_RUN},}}", re.DOTALL)
_LONG_WORD = re.compile(rf"\S{{{MAX_WORD_CHARS + 1},}}")
_BLANK_RUN = re.compile(r"\s{2,}")


def within_budget(text: str) -> str:
    """The part of a text the detector reads: about MAX_CHARS, runs of one character and overlong words
    shortened, whitespace runs collapsed (every step linear), so no input makes the later regexes slow."""
    text = text or ""
    if len(text) > MAX_CHARS:
        tail = MAX_CHARS // 4
        text = f"{text[: MAX_CHARS - tail]}\n{text[-tail:]}"
    text = _RUN.sub(lambda m: m.group(1) * MAX_RUN, text)
    text = _LONG_WORD.sub(lambda m: m.group()[:MAX_WORD_CHARS], text)
    return _BLANK_RUN.sub(lambda m: "\n" if "\n" in m.group() else " ", text)


def budget_sentences(sentences: list[str]) -> list[str]:
    """At most MAX_SENTENCES: the opening ones and the closing ones (where a writer often says the most)."""
    if len(sentences) <= MAX_SENTENCES:
        return sentences
    tail = MAX_SENTENCES // 4
    return sentences[: MAX_SENTENCES - tail] + sentences[-tail:]


def split_sentences(text: str) -> list[str]:
    """Sentences of text; tiny fragments ('lol.') stay with the sentence before them."""
    sentences: list[str] = []
    for piece in _SENTENCE_END.split(within_budget(text)):
        piece = piece.strip()
        if not piece:
            continue
        if sentences and len(normalise(piece).split()) < 2:
            sentences[-1] = f"{sentences[-1]} {piece}"
            continue
        words = piece.split()
        sentences.extend(" ".join(words[i : i + MAX_WORDS]) for i in range(0, len(words), MAX_WORDS))
    return sentences


# ---------------------------------------------------------------- phrases and context rules


def phrase_regex(phrase: str) -> str | None:
    """Regex source for one phrase ('*' = up to three words); None when nothing is left."""
    parts = [normalise(part) for part in phrase.split("*")]
    parts = [re.escape(part) for part in parts if part]
    if not parts:
        return None
    return r"(?<!\S)" + r" (?:\S+ ){0,3}".join(parts) + r"(?!\S)"


def clean_phrases(lines: Iterable[str]) -> list[str]:
    """Phrase entries without comments ('#' onwards) and blank lines."""
    return [entry for entry in (line.split("#", 1)[0].strip() for line in lines) if entry]


def read_phrase_file(path: Path) -> list[str]:
    """Phrases from a file: one a line, '#' starts a comment."""
    return clean_phrases(path.read_text(encoding="utf-8").splitlines())


def _first_word(phrase: str) -> str:
    parts = [normalise(part) for part in phrase.split("*")]
    return next((part.split(" ")[0] for part in parts if part), "")


class PhraseSet:
    """Compiled phrases, each tried only on texts that contain its first word (most clauses match nothing)."""

    def __init__(self, phrases: Iterable[str]) -> None:
        compiled = {}
        for phrase in phrases:
            source = phrase_regex(phrase)
            if source and phrase.strip().lower() not in compiled:
                compiled[phrase.strip().lower()] = source
        self.items = [(name, re.compile(source)) for name, source in compiled.items()]
        # A match starts with an entry's first word as a whole word, so only the entries whose first word is
        # in the text are tried: the work grows with the text's length, not with the list's size.
        self._firsts = [_first_word(name) for name, _ in self.items]
        self.first_words = set(self._firsts)

    def _candidates(self, text: str) -> list[tuple[str, re.Pattern[str]]]:
        words = self.first_words.intersection(text.split())
        if not words:
            return []
        return [item for item, first in zip(self.items, self._firsts, strict=True) if first in words]

    def find(self, clause: str) -> list[tuple[str, int, int]]:
        """(phrase, first word, end word) for every match in a normalised clause."""
        found = []
        for name, pattern in self._candidates(clause):
            for match in pattern.finditer(clause):
                start = clause.count(" ", 0, match.start())
                found.append((name, start, start + len(match.group().split())))
        return found

    def __contains__(self, text: str) -> bool:
        return any(pattern.search(text) for _, pattern in self._candidates(text))


@dataclass
class Rules:
    """Context rules from data/context.json, compiled."""

    lists: dict[str, PhraseSet]
    symbols: list[str]
    negators: set[str]
    breaks: set[str]
    others: set[str]

    @classmethod
    def load(cls, path: Path = CONTEXT_PATH) -> Rules:
        """Read and compile the context rules."""
        raw = json.loads(path.read_text(encoding="utf-8"))
        lists = {k: PhraseSet(v) for k, v in raw.items() if not k.startswith("_") and k != "humour_symbols"}
        words = {
            key: set(normalise(" ".join(raw[key])).split()) for key in ("negators", "clause_breaks", "others")
        }
        return cls(
            lists, raw.get("humour_symbols", []), words["negators"], words["clause_breaks"], words["others"]
        )

    def has(self, kind: str, text: str) -> bool:
        """True when a normalised text contains an entry of one list."""
        return text in self.lists[kind]

    def is_joke(self, raw: str, text: str) -> bool:
        """A joking or hedged sentence ('lol', 'haha', an emoji), unless it says it is no joke."""
        joking = self.has("humour", text) or any(s in raw.lower() for s in self.symbols)
        return joking and not self.has("serious", text)


@dataclass
class SentenceCheck:
    """What the rule layer saw in one sentence."""

    text: str
    cued: bool = False  # has crisis-related words, so the classifier looks at it
    hits: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    guards: list[str] = field(default_factory=list)

    @property
    def guarded(self) -> bool:
        """Joking, idiom, negation, advice, accident or past recovery around it, and no phrase survived."""
        return bool(self.guards) and not self.hits


def _scope(tokens: list[str], start: int, end: int, breaks: set[str]) -> tuple[int, int]:
    """The part of a clause around a match, cut at 'but', 'and' and the like outside it."""
    left = max((i + 1 for i in range(start) if tokens[i] in breaks), default=0)
    right = next((i for i in range(end, len(tokens)) if tokens[i] in breaks), len(tokens))
    return left, right


def _is_past(rules: Rules, before: str, scope: str) -> bool:
    """A match told in the past ('last year I felt I couldn't go on'), not a recent night."""
    if rules.has("present_strong", scope) or rules.has("recent", before):
        return False
    return rules.has("past_strong", before) or (rules.has("past", scope) and not rules.has("present", scope))


def check_sentence(sentence: str, phrases: PhraseSet, rules: Rules, recovered: bool) -> SentenceCheck:
    """Phrase matches of one sentence, each kept or ignored with a reason, plus context guards."""
    whole = normalise(sentence)
    result = SentenceCheck(sentence, cued=rules.has("cues", whole))
    joke = rules.is_joke(sentence, whole)
    before_parts: list[str] = []
    for clause in (normalise(c) for c in _CLAUSE_PUNCT.split(sentence)):
        tokens = clause.split()
        idioms = [(s, e) for _, s, e in rules.lists["idioms"].find(clause)]
        for name, start, end in phrases.find(clause):
            left, right = _scope(tokens, start, end, rules.breaks)
            scope = " ".join(tokens[left:right])
            before = " ".join(before_parts + tokens[:end])
            why = None
            if any(s < end and start < e for s, e in idioms):
                why = "idiom"
            elif joke:
                why = "joking"
            elif rules.negators & set(tokens[max(left, start - NEGATION_WINDOW) : start]):
                why = "negated"
            elif rules.has("not_own", " ".join(tokens[left:start])) or (
                start > 0 and tokens[start - 1] in rules.others
            ):
                why = "advice or reported question"
            elif rules.has("accidental", scope) and not rules.has("intentional", scope):
                why = "accident"
            elif recovered and _is_past(rules, before, scope):
                why = "past, in a recovery story"
            if why:
                result.ignored.append(f'"{name}" ({why})')
            elif name not in result.hits:
                result.hits.append(name)
        before_parts.extend(tokens)
    accident = rules.has("accidental", whole) and not rules.has("intentional", whole)
    told_past = rules.has("past_strong", whole) or rules.has("past", whole)
    guards = {
        "joking": joke,
        "idiom": rules.has("idioms", whole),
        "reassurance": rules.has("reassurance", whole),
        "advice or reported question": rules.has("not_own", whole),
        "accident": accident,
        "recovery story": rules.has("recovery", whole) and told_past,
        "past, in a recovery story": recovered and rules.has("past_strong", whole),
    }
    ignored_why = {why.rsplit("(", 1)[1].rstrip(")") for why in result.ignored}
    result.guards = sorted({name for name, on in guards.items() if on} | ignored_why)
    return result
