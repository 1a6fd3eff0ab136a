"""What the offline planner says to the user (clarifying questions, abstentions), in French and English.

Kept apart from the logic so that wording can be reviewed (and translated) in one place.
"""

from __future__ import annotations

from typing import Any

from geovigie.agent.offline.intents import Language

_TEXTS: dict[str, dict[Language, str]] = {
    "empty": {
        "en": "I did not understand the question. Which place or image, and what would you like to know "
        "(flooding, burnt area, forest loss, new buildings, land cover, counting ships or cars...)?",
        "fr": "Je n'ai pas compris la question. Quel lieu ou quelle image, et que voulez-vous savoir "
        "(inondation, surface brûlée, déforestation, nouvelles constructions, occupation du sol, comptage de "
        "navires ou de voitures...) ?",
    },
    "which_place": {"en": "Which place or image?", "fr": "Quel lieu ou quelle image ?"},
    "nearest_date": {
        "en": "No image of {where} between {start} and {end}; I used the nearest available date, {day}.",
        "fr": "Aucune image de {where} entre le {start} et le {end} ; j'ai pris la date disponible la plus proche, "
        "le {day}.",
    },
    "counted_within": {
        "en": "Counted within {radius:g} km of the centre of {place}; give a radius or a bbox to count elsewhere.",
        "fr": "Comptage dans un rayon de {radius:g} km autour du centre de {place} ; donnez un rayon ou une bbox "
        "pour compter ailleurs.",
    },
    "reference_window": {
        "en": "Reference window before the event: {start} to {end}.",
        "fr": "Fenêtre de référence avant l'événement : du {start} au {end}.",
    },
    "not_counted": {
        "en": "{objects} not counted: the image has {gsd:g} m pixels, too coarse for them.",
        "fr": "{objects} non comptés : les pixels de l'image font {gsd:g} m, trop grossiers pour eux.",
    },
    "which_image": {"en": "Which image do you mean: {options}?", "fr": "De quelle image parlez-vous : {options} ?"},
    "what_about": {
        "en": "What would you like to know about {place}: flooding, burnt areas, forest loss, urban growth, "
        "land cover, or counting objects?",
        "fr": "Que voulez-vous savoir sur {place} : inondations, zones brûlées, déforestation, croissance "
        "urbaine, occupation du sol ou comptage d'objets ?",
    },
    "when_event": {
        "en": "When did the event happen? Give a date or a month (e.g. 'October 2024') so I can compare "
        "images from before and after it.",
        "fr": "Quand l'événement a-t-il eu lieu ? Donnez une date ou un mois (par ex. « octobre 2024 ») pour que "
        "je compare des images d'avant et d'après.",
    },
    "second_image": {
        "en": "A change needs two images: which second image or date should I compare {item} with?",
        "fr": "Un changement demande deux images : avec quelle autre image ou quelle date comparer {item} ?",
    },
    "ambiguous_place": {
        "en": "There are several places called {place}: {options}. Which one do you mean?",
        "fr": "Plusieurs lieux portent le nom de {place} : {options}. Duquel parlez-vous ?",
    },
    "place_not_found": {
        "en": "I could not find '{place}'. Which place did you mean? A nearby town, the country, or "
        "coordinates (lat, lon) would help.",
        "fr": "Je n'ai pas trouvé « {place} ». De quel lieu s'agit-il ? Une ville proche, le pays ou des "
        "coordonnées (lat, lon) m'aideraient.",
    },
    "future": {
        "en": "Images for {start} to {end} cannot exist yet (today is {today}).",
        "fr": "Il ne peut pas encore exister d'images pour la période du {start} au {end} (nous sommes le {today}).",
    },
    "future_hint": {
        "en": "Ask about a past period, or about the latest available image.",
        "fr": "Demandez une période passée, ou la dernière image disponible.",
    },
    "examples_needed": {
        "en": "Mapping classes from examples needs the labelled points or polygons themselves, which I cannot "
        "read reliably from the question.",
        "fr": "Cartographier des classes à partir d'exemples demande les points ou polygones étiquetés eux-mêmes, "
        "que je ne peux pas lire de façon fiable dans la question.",
    },
    "examples_hint": {
        "en": "Call the map_from_examples tool with them (API, MCP or `geovigie tool map-from-examples "
        'item_id=... examples=[{{"label": "forest", "point": [lon, lat]}}, ...]`), or ask for '
        "places like one example with find_similar.",
        "fr": "Appelez l'outil map_from_examples avec ces exemples (API, MCP ou `geovigie tool map-from-examples "
        'item_id=... examples=[{{"label": "forêt", "point": [lon, lat]}}, ...]`), ou cherchez des lieux '
        "semblables à un exemple avec find_similar.",
    },
    "out_of_scope": {
        "en": "GeoVigie answers questions from satellite imagery (water and floods, burnt areas, forests, "
        "buildings, land cover, counting objects); it cannot answer this one.",
        "fr": "GeoVigie répond à partir d'images satellite (eau et inondations, zones brûlées, forêts, "
        "bâtiments, occupation du sol, comptage d'objets) ; il ne peut pas répondre à cette question.",
    },
    "out_of_scope_hint": {
        "en": "Ask about what can be seen from above at a place and date.",
        "fr": "Posez une question sur ce qui se voit d'en haut, en un lieu et à une date.",
    },
    "too_coarse": {
        "en": "Counting {objects} needs images of {limit:g} m per pixel or finer; {source} is {gsd:g} m per pixel.",
        "fr": "Compter des {objects} demande des images de {limit:g} m par pixel ou mieux ; {source} est à {gsd:g} m "
        "par pixel.",
    },
    "too_coarse_hint": {
        "en": "Use finer imagery: SPOT 6/7 (1.5 m), Pléiades (0.5 m) or aerial orthophotos (0.2 m).",
        "fr": "Utilisez des images plus fines : SPOT 6/7 (1,5 m), Pléiades (0,5 m) ou orthophotos aériennes (0,2 m).",
    },
    "no_data": {
        "en": "No image covers {where} {when}.",
        "fr": "Aucune image ne couvre {where} {when}.",
    },
    "no_data_hint": {
        "en": "Try a wider date range or another period.",
        "fr": "Essayez une période plus large ou d'autres dates.",
    },
    "no_catalog": {
        "en": "There is no imagery yet: the local catalog is empty and no STAC API is configured.",
        "fr": "Il n'y a encore aucune image : le catalogue local est vide et aucune API STAC n'est configurée.",
    },
    "no_catalog_hint": {
        "en": "Upload a GeoTIFF in the Data tab, set GEOVIGIE_STAC_API_URLS to a STAC API, or ingest the samples "
        "(`geovigie ingest --samples`).",
        "fr": "Déposez un GeoTIFF dans l'onglet Data, définissez GEOVIGIE_STAC_API_URLS vers une API STAC, ou "
        "ingérez les exemples (`geovigie ingest --samples`).",
    },
    "no_fine_data": {
        "en": "No image of {limit:g} m per pixel or finer covers {where} {when}; {objects} cannot be counted on "
        "coarser images.",
        "fr": "Aucune image à {limit:g} m par pixel ou mieux ne couvre {where} {when} ; les {objects} ne se "
        "comptent pas sur des images plus grossières.",
    },
    "too_cloudy": {
        "en": "All {n} images found for {where} {when} are too cloudy (more than {limit:g}% clouds).",
        "fr": "Les {n} images trouvées pour {where} {when} sont trop nuageuses (plus de {limit:g} % de nuages).",
    },
    "too_cloudy_hint": {
        "en": "Try other dates, or accept more clouds.",
        "fr": "Essayez d'autres dates, ou acceptez davantage de nuages.",
    },
    "partial": {
        "en": "The images found cover at most {pct:.0f}% of {where} {when}.",
        "fr": "Les images trouvées couvrent au plus {pct:.0f} % de {where} {when}.",
    },
    "partial_hint": {
        "en": "Give a smaller area (a radius or a bbox) inside the imagery, or another period.",
        "fr": "Donnez une zone plus petite (un rayon ou une bbox) dans l'emprise des images, ou une autre période.",
    },
    "incompatible": {
        "en": "No two images of {where} {when} can be compared: they do not share the same bands (radar and "
        "optical images, for example).",
        "fr": "Aucune paire d'images de {where} {when} n'est comparable : elles n'ont pas les mêmes bandes (image "
        "radar et image optique, par exemple).",
    },
    "incompatible_hint": {
        "en": "Name two images from the same sensor, or try other dates.",
        "fr": "Indiquez deux images du même capteur, ou essayez d'autres dates.",
    },
    "one_date": {
        "en": "Only one usable date was found for {where} {when}; a change needs two.",
        "fr": "Une seule date exploitable a été trouvée pour {where} {when} ; un changement en demande deux.",
    },
    "one_date_hint": {
        "en": "Widen the period so that it includes images from before and after.",
        "fr": "Élargissez la période pour inclure des images d'avant et d'après.",
    },
    "tool_failed": {
        "en": "The {tool} step failed: {error}",
        "fr": "L'étape {tool} a échoué : {error}",
    },
    "tool_failed_hint": {
        "en": "Rephrase the question, or try another place, date or image.",
        "fr": "Reformulez la question, ou essayez un autre lieu, une autre date ou une autre image.",
    },
    "done": {
        "en": "Done: {steps}.",
        "fr": "Terminé : {steps}.",
    },
    "buildings_as_area": {
        "en": "Individual buildings cannot be counted on the available imagery (they need 2.5 m pixels or finer), "
        "so the new built-up area is measured "
        "instead; for a count, add imagery of 2.5 m or finer (SPOT 6/7, Pléiades, aerial).",
        "fr": "Les bâtiments ne peuvent pas être comptés un à un sur les images disponibles (il faut des pixels "
        "de 2,5 m ou mieux) : la nouvelle surface bâtie est "
        "mesurée à la place ; pour un comptage, ajoutez des images de 2,5 m ou mieux (SPOT 6/7, Pléiades, aérien).",
    },
    "since_latest": {
        "en": "No image between {start} and {end}: the comparison uses the latest image available since then.",
        "fr": "Aucune image entre le {start} et le {end} : la comparaison utilise la dernière image disponible depuis.",
    },
    "near_area": {
        "en": "Area analysed: within {radius:g} km of the centre of {place} "
        "(the question asks about its surroundings).",
        "fr": "Zone analysée : jusqu'à {radius:g} km du centre de {place} (la question porte sur ses environs).",
    },
    "water_body_town": {
        "en": "'{place}' is not in the offline gazetteer: the area analysed is around {town}, whose name it bears; "
        "give a bbox to cover all of it.",
        "fr": "« {place} » n'est pas dans le gazetteer hors ligne : la zone analysée entoure {town}, dont il porte le "
        "nom ; donnez une bbox pour le couvrir en entier.",
    },
    "found": {
        "en": "{n} image(s) found: {items}.",
        "fr": "{n} image(s) trouvée(s) : {items}.",
    },
    "where_aoi": {"en": "the area", "fr": "la zone"},
    "no_reference": {
        "en": "No usable image before the event ({start} to {end}): the water mapped on {item} includes permanent "
        "water (rivers, lakes, sea), not only the flood.",
        "fr": "Aucune image exploitable avant l'événement ({start} au {end}) : l'eau cartographiée sur {item} inclut "
        "l'eau permanente (rivières, lacs, mer), pas seulement l'inondation.",
    },
    "partial_cover": {
        "en": "{item} covers {pct:.0f}% of the area; results are for the covered part only.",
        "fr": "{item} couvre {pct:.0f} % de la zone ; les résultats ne portent que sur la partie couverte.",
    },
    "asked_resolution": {"en": "the resolution asked for", "fr": "la résolution demandée"},
    "found_images": {"en": "the imagery found for {where}", "fr": "l'imagerie trouvée pour {where}"},
    "when_any": {"en": "at any date", "fr": "à aucune date"},
    "when_range": {"en": "between {start} and {end}", "fr": "entre le {start} et le {end}"},
}

OBJECT_NAMES: dict[str, dict[Language, str]] = {
    "tree": {"en": "trees", "fr": "arbres"},
    "ship": {"en": "ships", "fr": "navires"},
    "vehicle": {"en": "vehicles", "fr": "véhicules"},
    "building": {"en": "buildings", "fr": "bâtiments"},
    "storage_tank": {"en": "storage tanks", "fr": "cuves de stockage"},
    "water_body": {"en": "water bodies", "fr": "plans d'eau"},
    "field": {"en": "fields", "fr": "parcelles"},
    "plane": {"en": "planes", "fr": "avions"},
}


def say(key: str, lang: Language, **values: Any) -> str:
    """The message ``key`` in ``lang``, filled with ``values``."""
    return _TEXTS[key][lang].format(**values)


def object_name(obj: str, lang: Language) -> str:
    """Plural name of an object class, as used in messages."""
    return OBJECT_NAMES.get(obj, {"en": obj, "fr": obj})[lang]
