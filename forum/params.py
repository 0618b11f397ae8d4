"""Bounded parsing of what a visitor controls: query numbers, page numbers and JSON bodies.

Every number from a URL is clamped before it reaches the database (SQLite and PostgreSQL integers overflow
on Python's unbounded ints), and every JSON body is checked for size and nesting before it is parsed
(Python's json module recurses once per level: 100,000 '[' is a RecursionError).
"""

from __future__ import annotations

import re
from typing import Any

from flask import jsonify, request
from werkzeug.wrappers import Response

MAX_ROW_ID = 2**31 - 1  # PostgreSQL's integer; the RowId URL converter uses the same bound
MAX_PAGE = 1000  # deeper pages are answered as the last page there could be, never with an error
MAX_JSON_BYTES = 192 * 1024  # a 25,000-character draft, JSON-escaped, fits with room to spare
MAX_JSON_DEPTH = 20  # our JSON bodies are one flat object; 20 leaves room for any honest client

_INTEGER = re.compile(r"([+-]?)([0-9]+)")  # ASCII digits only: "²" or "١" are not page numbers
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def bounded_int(raw: Any, default: int, low: int, high: int) -> int:
    """raw as an int clamped to [low, high]; default when it is missing or not a whole number."""
    if isinstance(raw, bool):
        return default
    if isinstance(raw, int):
        value = raw
    else:
        found = _INTEGER.fullmatch(str(raw).strip()) if raw is not None else None
        if found is None:
            return default
        sign, digits = found.group(1), found.group(2).lstrip("0") or "0"
        if len(digits) > 18:  # beyond any bound we use: the nearest bound, so "page=999…9" is the last page
            return low if sign == "-" else high
        value = int(sign + digits)
    return min(high, max(low, value))


def page_arg(name: str = "page", max_page: int = MAX_PAGE) -> int:
    """The 1-based page number in the query string, between 1 and max_page."""
    return bounded_int(request.args.get(name), 1, 1, max_page)


def row_id(raw: Any) -> int | None:
    """A row id from a query argument or cursor, or None when it could not be one."""
    value = bounded_int(raw, 0, 0, MAX_ROW_ID + 1)
    return value if 1 <= value <= MAX_ROW_ID else None


def json_depth(body: bytes) -> int:
    """How deeply a JSON text nests arrays and objects, in one linear pass (strings are skipped)."""
    depth = deepest = 0
    for match in _BRACKET.finditer(_JSON_STRING.sub(b'""', body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def check_json_body() -> Response | tuple[Response, int] | None:
    """Refuse an oversized or too deeply nested JSON body before anything parses it."""
    if not request.is_json or request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        return jsonify(
            error="Too large", message=f"Send at most {MAX_JSON_BYTES // 1024} KB of JSON at once."
        ), 413
    body = request.get_data(cache=True)
    if len(body) > MAX_JSON_BYTES:
        return jsonify(
            error="Too large", message=f"Send at most {MAX_JSON_BYTES // 1024} KB of JSON at once."
        ), 413
    if json_depth(body) > MAX_JSON_DEPTH:
        return jsonify(
            error="Bad request", message=f"JSON may nest at most {MAX_JSON_DEPTH} levels deep."
        ), 400
    return None
