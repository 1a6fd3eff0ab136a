"""How common a word is in English or French: tells words from names, and words of both languages apart.

Word frequencies come from pyspellchecker's dictionaries (MIT; frequency lists built from subtitles and
Wiktionary); without the package every answer is "not common" and the small cue lexicons still apply.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

COMMON_FREQUENCY = 1e-6
"""Relative frequency above which a word is a word ("quarry" 1.6e-6), below a rare name ("Buckeye" 3.6e-8)."""


@lru_cache(maxsize=2)
def _checker(lang: str) -> Any:
    try:
        from spellchecker import SpellChecker  # type: ignore[import-untyped]
    except ImportError:
        return None
    return SpellChecker(language=lang, distance=1)


def frequency(word: str, lang: str) -> float:
    """Relative frequency of ``word`` (lower case) in ``lang`` ("en" or "fr"); 0.0 when unknown."""
    checker = _checker(lang)
    return float(checker.word_usage_frequency(word)) if checker is not None else 0.0


def common_word(word: str) -> bool:
    """Whether a word is frequent in English or French ("level", "will", "même"; not "Paiporta")."""
    forms = [word]
    if word.endswith(("és", "ée", "ées")):  # French participles agree: "détectés", "inondées" are "détecté"
        forms.append(word[: word.rindex("é") + 1])
    return any(frequency(form, lang) > COMMON_FREQUENCY for form in forms for lang in ("en", "fr"))
