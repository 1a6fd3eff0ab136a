"""The method line of each playbook in the answer's language (the English text lives with the playbook)."""

from __future__ import annotations

from geovigie.agent.offline.templates import Playbook

METHODS_FR: dict[str, str] = {
    "find imagery": "Recherche dans le catalogue ; scènes listées avec leur date, leur couverture nuageuse et leur "
    "taille de pixel.",
    "describe": "Aperçu en couleurs naturelles de la scène choisie, puis une description fondée sur cet aperçu.",
    "water extent": "Masque d'eau par MNDWI/NDWI sur une scène (segment 'water').",
    "flood / water change": "Gain d'eau entre une scène de référence et la scène de l'événement, à partir de masques "
    "d'eau MNDWI/NDWI (detect_change, preset 'flood') ; la référence est la dernière scène dégagée avant "
    "l'événement. Sans scène de référence, l'étendue d'eau est cartographiée sur la scène de l'événement.",
    "burn scar": "Surface brûlée d'après la baisse du NBR (dNBR = NBR avant - NBR après, PIR/SWIR) entre une scène "
    "d'avant et une scène d'après l'incendie (detect_change, preset 'burn').",
    "forest loss": "Perte de forêt d'après la baisse du NDVI entre les deux dates (detect_change, preset "
    "'deforestation').",
    "built-up share": "Masque du bâti par NDBI / indice de bâti (segment 'built_up').",
    "urban growth": "Nouvelles surfaces bâties : gain de NDBI/indice de bâti confirmé par analyse de vecteur de "
    "changement (CVA) (detect_change, preset 'urban').",
    "industrial site activity": "Nouvelles structures par gain de bâti + CVA entre deux dates (preset 'urban'), puis "
    "cuves et navires comptés sur la scène la plus récente quand ses pixels sont assez fins (cuves 3 m, navires "
    "10 m).",
    "industrial site look": "Aperçu en couleurs naturelles du site sur la scène choisie, puis une description de "
    "l'activité visible (navires à quai, panaches, stocks, travaux) ; une date montre un état, pas une tendance.",
    "industrial site growth": "Nouvelles structures et terrains dégagés par gain de bâti + CVA entre deux dates "
    "(detect_change, preset 'urban') : l'extension du site.",
    "count": "Objets détectés un à un sur une imagerie assez fine pour eux.",
    "count at two dates": "Objets comptés sur une scène à chaque date ; la différence est l'évolution.",
    "land cover": "Classes d'occupation du sol et leurs surfaces (segment 'landcover').",
    "land-cover change": "Classes d'occupation du sol aux deux dates (segment 'landcover') ; surfaces des classes "
    "comparées (post-classification).",
    "vegetation": "Couverture et vigueur de la végétation d'après le NDVI (segment 'vegetation').",
    "vegetation change": "Analyse de vecteur de changement (CVA) entre deux dates, différence de NDVI indiquée "
    "(preset 'generic').",
    "change": "Analyse de vecteur de changement (CVA) sur les bandes communes (preset 'generic').",
    "none": "Pas de plan : la question n'a pas été comprise.",
    "find similar places": "Lieux les plus semblables à l'exemple (le point donné, sinon le centre du lieu nommé) "
    "dans la zone, par similarité cosinus des plongements du modèle de fondation Presto (find_similar).",
    "cloud cover": "Part de nuages sur la zone d'après le masque de nuages (segment 'cloud').",
}
"""French method line per playbook name."""


def method_text(playbook: Playbook, language: str) -> str:
    """The playbook's method line in ``language`` (English when no translation exists)."""
    return METHODS_FR.get(playbook.name, playbook.method) if language == "fr" else playbook.method
