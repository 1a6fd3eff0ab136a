"""Requests for what the last analysis produced ("show me the polygons", "la carte stp", "et le rapport").

Such a turn runs nothing: the answer returns the figures and artifacts of the thread's latest analysis turn
(the finalize node reads them from the checkpointed steps), so the map keeps its layers and nothing is recomputed.
"""

from __future__ import annotations

import re

from geovigie.agent.offline.dates import fold
from geovigie.agent.offline.understanding import Understanding

_KINDS = (
    ("polygons", r"polygon\w*|polygone\w*|geojson|contours?|shapes?|shapefile|vecteurs?|vectors?|outlines?|masks?|"
                 r"masques?|boxes|boites|rectangles?|cadres|detections?|bounding boxes|zones?|patches|"
                 r"areas? (?:that|which) changed|"
                 r"(?:new|nouvel\w*|nouveaux) (?:installations?|constructions?|surfaces?|batiments|buildings?|bati)|"
                 r"areas? found|"
                 # what the analysis found, named by its result: "the changed areas", "les bateaux détectés"
                 r"(?:changed|detected|found|flooded|burn(?:ed|t)|cleared|new) (?:areas?|zones?|objects?|pixels?|"
                 r"ships?|boats?|vehicles?|cars?|trees?|buildings?|tanks?|planes?|fields?)|"
                 r"(?:bateaux|navires|objets|zones|surfaces|arbres|batiments|vehicules|voitures|camions|cuves|avions|"
                 r"champs|parcelles|pixels) (?:detecte|trouve|repere|compte|change|inonde|brule|defriche)e?s?"),
    ("polygons", r"(?:export|download|draw|outline|box|exporte|telecharge|dessine|trace|encadre)\w*\b.{0,40}\b"
                 r"(?:crowns?|"
                 r"houppiers?|trees?|ships?|boats?|vehicles?|cars?|trucks?|buildings?|tanks?|planes?|water|eau|burn\w*|"
                 r"scars?|"
                 r"arbres|bateaux|navires|voitures|camions|batiments|cuves|avions|cicatrices?)|"
                 r"highlight\w* where|surligne\w*"),  # "export the crowns"
    ("report", r"reports?|rapports?|pdf|summary|resume|synthese|comptes?[- ]rendus?"),
    ("figures", r"numbers?|figures?|percentages?|pourcentages?|chiffres?|tables?|tableau\w*|stats?|statisti\w*|"
                r"values?|valeurs?|results?|"
                r"resultats?|csv|(?:hectares?|ha|km2|surface|area)\b.{0,30}\b(?:again|remind|rappel\w*|deja)|"
                r"(?:remind|rappelle)\w*.{0,30}\b(?:hectares?|surface|area|total)|"
                # "tu me donnes les surfaces ?", "give me the areas": the measured figures again
                r"(?:give|tell|send|donne|dis|envoie)\w*(?: me| moi|-moi)?\b.{0,20}\b(?:surfaces?|areas?|hectares|"
                r"totals?|counts?|comptes?|superficies?)|"
                # the measured figure asked for alone: "how many hectares?", "et en hectares par type ?", "cloud %"
                r"how many hectares|combien d'hectares|how much area|quelle surface|in hectares|en hectares|"
                r"par (?:type|classe)|per class|by class|side by side|cote a cote|both (?:counts|numbers|figures)|"
                r"les deux (?:comptes|chiffres|comptages)"),
    ("map", r"maps?|cartes?|overlays?|layers?|couches?|cartographi\w*|on the map|sur la carte"),
)  # fmt: skip

_ALL = "|".join(p for _, p in _KINDS)
_PERCENT = re.compile(r"(?:^|\s)%|%\s*(?:$|\?|pls|please|stp|svp)|\bquel %")

_TEXTS = {
    "polygons": {"en": "Here are the polygons of the previous analysis{what}: they are on the map and in the downloads "
                       "(GeoJSON).",
                 "fr": "Voici les polygones de l'analyse précédente{what} : ils sont sur la carte et dans les "
                       "téléchargements (GeoJSON)."},
    "map": {"en": "Here is the map of the previous analysis{what}; its layers are shown again.",
            "fr": "Voici la carte de l'analyse précédente{what} ; ses couches sont de nouveau affichées."},
    "report": {"en": "Here is the report of the previous analysis{what}: figures, sources and files are below.",
               "fr": "Voici le rapport de l'analyse précédente{what} : chiffres, sources et fichiers ci-dessous."},
    "figures": {"en": "Here are the figures of the previous analysis{what}:",
                "fr": "Voici les chiffres de l'analyse précédente{what} :"},
    "none": {"en": "There is no earlier result to show yet: ask a question about a place or an image first.",
             "fr": "Il n'y a pas encore de résultat à montrer : posez d'abord une question sur un lieu ou une image."},
}  # fmt: skip


def _said_before(u: Understanding, earlier: str) -> bool:
    """Whether the place, images and dates a turn names were all named earlier in the thread."""
    if u.bbox or u.point or not earlier:
        return False
    said = fold(earlier).lower()
    named = [u.place or "", *u.item_refs, *(u.question[a:b] for a, b in u.dates.spans)]
    # "la carte de la Bresse" after "en Bresse": the article is the sentence's, the name is the same
    bare = (re.sub(r"^(?:le|la|les|l'|the)\s*", "", fold(n).lower().strip()) for n in named if n.strip())
    return all(n in said for n in bare)


def artifact_request(u: Understanding, earlier: str = "") -> str | None:
    """The kind of earlier result a turn asks for (``polygons``, ``map``, ``report``, ``figures``), or None.

    A turn naming a place, image or date of its own is a new question ("the map of Nantes in 2020"), unless the
    thread named them already (``earlier``: its previous questions): "draw the flooded polygons for cartago",
    "rennes numbers next to bordeaux numbers" ask for what the thread measured.
    """
    dated = u.dates.kind not in ("none", "latest")  # "now the water polygons": "now" is no new date
    if (u.bbox or u.point or u.item_refs or dated) and not _said_before(u, earlier):
        return None
    folded = fold(u.question).lower()
    if _PERCENT.search(folded) and not u.place:
        return "figures"  # "cloud % pls", "quel % de végétation au final ?"
    for kind, pattern in _KINDS:
        if re.search(rf"\b(?:{pattern})\b", folded):
            # "the numbers as a table": "table" is not a place; "the map of Nantes" names one
            named = u.place and not re.search(rf"\b(?:{pattern}|{_ALL})\b", fold(u.place).lower())
            if named and not _said_before(u, earlier):
                return None
            return kind
    return None


def reuse_text(kind: str, language: str, what: str = "") -> str:
    """The short answer of a reuse turn (``kind`` = ``none`` when there is nothing to show)."""
    lang = "fr" if language == "fr" else "en"
    return _TEXTS[kind][lang].format(what=f" ({what})" if what else "")
