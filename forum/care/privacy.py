"""A gentle warning when writing seems to identify a child: a full name with a nursery or school, a phone
number or an address. It never blocks; the same rules run in the browser (forum/static/js/care.js)."""

from __future__ import annotations

import re

WARNING = "Other parents might recognise this — you may want to remove names, phone numbers or addresses."

PHONE = re.compile(
    r"(?<!\d)(?:\+44\s?7\d{3}|\b07\d{3}|\(\d{3}\)\s?\d{3}|\+1[\s-]?\d{3}|\b\d{3}[\s.-]\d{3})[\s.-]?\d{3,4}[\s.-]?\d{0,4}(?!\d)"
)
UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}\b")
STREET = re.compile(
    r"\b\d{1,4}\s{1,3}[A-Z][a-z]{1,30}(?:\s[A-Z][a-z]{1,30})?\s(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Close|Drive|Dr|Way|Crescent|Grove)\b"
)
FULL_NAME = re.compile(r"\b[A-Z][a-z]{1,15}\s[A-Z][a-z]{2,20}\b")
# Every repeat is bounded, so each scan is linear: an unbounded [\w'’-]+ made "A-A-A-…" quadratic (5 s).
SETTING_NAME = re.compile(
    r"\b(?:[A-Z][\w'’-]{0,40}\s){1,4}(?:Nursery|School|Preschool|Pre-school|Primary|Academy|Daycare|Kindergarten|Childcare)\b"
)
NOT_NAMES = {
    "Last Monday",
    "Last Tuesday",
    "Last Wednesday",
    "Last Thursday",
    "Last Friday",
    "Next Monday",
    "Good Morning",
    "Happy Birthday",
}


def identifying_details(text: str) -> list[str]:
    """Which kinds of identifying detail the text seems to contain (empty when none)."""
    found = []
    if PHONE.search(text):
        found.append("a phone number")
    if UK_POSTCODE.search(text) or STREET.search(text):
        found.append("an address")
    setting = SETTING_NAME.search(text)
    if setting:
        names = [
            m.group(0)
            for m in FULL_NAME.finditer(text)
            if m.group(0) not in NOT_NAMES and m.group(0) not in setting.group(0)
        ]
        if names:
            found.append("a full name with a nursery or school")
    return found
