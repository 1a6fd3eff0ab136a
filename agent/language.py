"""Language detection for French / English questions (cue words; no model needed)."""

from __future__ import annotations

import re
import unicodedata

_FR = {
    "le", "la", "les", "des", "du", "de", "un", "une", "est", "sont", "combien", "depuis", "quelle", "quel",
    "quels", "quelles", "entre", "avec", "dans", "pour", "sur", "près", "pres", "eau", "inondation", "forêt",
    "foret", "bâtiments", "batiments", "navires", "bateaux", "arbres", "voitures", "incendie", "brûlée",
    "montre", "montrez", "moi", "et", "en", "au", "aux", "ce", "cette", "images", "y", "a", "t", "il", "ya",
    "zone", "été", "ete", "dernier", "dernière", "année", "annee", "surface", "évolution", "evolution", "où",
}  # fmt: skip
_EN = {
    "the", "a", "an", "is", "are", "how", "many", "since", "what", "which", "between", "with", "in", "for",
    "on", "near", "water", "flood", "forest", "buildings", "ships", "trees", "cars", "fire", "show", "me",
    "and", "of", "this", "imagery", "there", "area", "last", "year", "summer", "has", "grown", "much", "where",
}  # fmt: skip


def detect_language(text: str) -> str:
    """Return ``"fr"`` or ``"en"`` from cue words and French diacritics (English on ties)."""
    folded = unicodedata.normalize("NFC", text.lower())
    words = re.findall(r"[^\W\d_]+", folded)  # any letter: "león" is one word, not "le" + "n"
    # accents of proper names ("León", "Mérida") say nothing about the language: only lower-case words count
    common = " ".join(w for w in unicodedata.normalize("NFC", text).split() if not w.lstrip("'\"«“‘(")[:1].isupper())
    fr = sum(1 for w in words if w in _FR) + 2 * len(re.findall(r"[àâçéèêëîïôûùüÿœ]", common.lower()))
    en = sum(1 for w in words if w in _EN)
    return "fr" if fr > en else "en"
