"""Place names as matching keys: folding (accents, case, punctuation) and which alternate names to index."""

from __future__ import annotations

import re
import unicodedata

_SPECIAL = str.maketrans({"ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "ł": "l", "đ": "d", "ð": "d", "ı": "i"})
_COMBINING = re.compile("[\u0300-\u036f]")  # combining diacritics left by NFKD (é -> e + U+0301)
_SEPARATORS = re.compile(r"[\s\-'’`.,;:()/\"«»]+")


def fold(text: str) -> str:
    """Fold a name for matching: strip accents, lower case, punctuation and hyphens as single spaces.

    Args:
        text: any name or phrase.

    Returns:
        The folded key, e.g. ``"Saint-Étienne"`` -> ``"saint etienne"``.
    """
    text = text.casefold()
    if not text.isascii():
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text.translate(_SPECIAL)))
    return _SEPARATORS.sub(" ", text).strip()


def is_code(name: str) -> bool:
    """True for airport/ICAO codes listed among alternate names (VLC, BOD, LFBD)."""
    return len(name) <= 4 and name.isupper()


def indexable(alt: str) -> bool:
    """Keep Latin-script alternate names that are neither codes nor machine romanisations.

    Lower-case entries are mostly romanisations ("porto" for Bordeaux) and non-Latin scripts are of no use
    to French/English questions; skipping both halves the index build time and memory.
    """
    return bool(alt) and ord(alt[0]) < 0x250 and not alt[0].islower() and not is_code(alt)
