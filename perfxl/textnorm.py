"""Text normalisation shared by readers and rules: stray spaces, full-width forms, widths."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

_CJK = (
    r"\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff"
    r"\uf900-\ufaff\uff00-\uffef\u2018-\u201f\u2026\u2030-\u2035\u2160-\u217f\u2460-\u24ff"
    r"\u2190-\u21ff\u2200-\u22ff\u2500-\u257f\u25a0-\u25ff\u3200-\u32ff"
)
_CJK_RE = re.compile(f"[{_CJK}]")
# A run of blanks with a CJK character (or CJK punctuation) on at least one side is a layout
# artefact (PDF chunking, Word line wrap), never meaningful in Chinese text.
_STRAY_SPACE = re.compile(f"(?<=[{_CJK}])[ \\t\\u00a0\\u3000]+|[ \\t\\u00a0\\u3000]+(?=[{_CJK}])")
_MULTI_SPACE = re.compile(r"[ \t\u00a0\u3000]+")
_BLANKS = re.compile(r"\s+")
_HALFWIDTH = {chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)} | {"\u3000": " "}
_HALFWIDTH_TABLE = str.maketrans(_HALFWIDTH)
_FULLWIDTH = re.compile("[\uff01-\uff5e\u3000]")
# Measured crossovers: below these lengths the plain way (str.translate; NFKC at once) is cheaper.
_SHORT_TRANSLATE = 20
_SHORT_NORMALIZE = 12


def is_cjk(ch: str) -> bool:
    """Return True when ``ch`` is a CJK ideograph or full-width/CJK punctuation."""
    return bool(_CJK_RE.match(ch))


def squash(text: str) -> str:
    """Return ``text`` with layout spaces inside Chinese words removed and other runs folded."""
    text = text.strip()
    # Most cells hold no blank at all, and both substitutions only touch blanks: skip them.
    if " " not in text and "\t" not in text and "\u00a0" not in text and "\u3000" not in text:
        return text
    text = _STRAY_SPACE.sub("", text)
    return _MULTI_SPACE.sub(" ", text)


def squash_lines(text: str) -> str:
    """Return multi-line ``text`` with each line squashed and blank lines dropped."""
    return "\n".join(s for s in (squash(line) for line in text.splitlines()) if s)


def halfwidth(text: str) -> str:
    """Return ``text`` with full-width ASCII forms (０-９, ％, （）…) mapped to ASCII."""
    # str.translate looks up every character. That is cheapest for a short cell, but in prose
    # replacing the few distinct full-width forms the text holds is several times cheaper; the
    # replacements are ASCII, so none of them can create another full-width form.
    if len(text) < _SHORT_TRANSLATE:
        return text.translate(_HALFWIDTH_TABLE)
    forms = _FULLWIDTH.findall(text)
    for form in set(forms) if forms else ():
        text = text.replace(form, _HALFWIDTH[form])
    return text


@lru_cache(maxsize=1 << 12)
def clean_prose(text: str) -> str:
    """Return ``halfwidth(squash(text))``: prose as patterns read it, half-width, layout spaces removed."""
    # Cached: several rules read the same goal, use of funds and name.
    return halfwidth(squash(text))


@lru_cache(maxsize=1 << 16)
def label_key(text: str) -> str:
    """Return the comparison key of a form label: no spaces, half-width, NFKC."""
    # Cached: the rules ask for the key of the same few thousand names and values over and over.
    # NFKC maps each full-width form to its ASCII character, as ``halfwidth`` does, so NFKC of
    # the half-width text is the same; that text is nearly always NFKC already, and checking so
    # is far cheaper than normalising Chinese prose full of full-width punctuation.
    if not unicodedata.is_normalized("NFKC", text):
        if len(text) >= _SHORT_NORMALIZE:
            text = halfwidth(text)
        if not unicodedata.is_normalized("NFKC", text):
            text = unicodedata.normalize("NFKC", text)
    return _BLANKS.sub("", text)


def display_width(text: str) -> int:
    """Return the printed width of ``text``: 2 for wide (CJK) characters, 1 for the rest."""
    return sum(2 if unicodedata.east_asian_width(c) in "WFA" or is_cjk(c) else 1 for c in text)
