"""The offline planner's vocabulary: language cues, intent cues, object classes, sensors, injection patterns.

Everything is matched on folded text (lower case, accents stripped, see :func:`geovigie.agent.offline.dates.fold`), so
"déforestation", "deforestation" and "DÉFORESTATION" are one cue. Intent cues carry weights: thematic words
(flood, burn, forest loss...) outweigh generic ones (show, image), and counting needs both a count cue and
an object class. Common misspellings are repaired first by :func:`fix_typos` (one close match per word).
"""

from __future__ import annotations

import difflib
import re
from typing import Literal

from geovigie.agent.offline.lexicon import frequency
from geovigie.tools.count import CLASS_SPECS

Language = Literal["fr", "en"]
Intent = Literal[
    "find_imagery",
    "describe",
    "land_cover",
    "water_flood",
    "burn",
    "deforestation",
    "urban_growth",
    "industrial_activity",
    "count_objects",
    "change_generic",
    "vegetation",
    "cloud",
    "find_similar",
    "map_examples",
    "unknown",
]
ObjectClass = Literal["tree", "ship", "vehicle", "building", "storage_tank", "water_body", "field", "plane"]

_FR_WORDS = frozenset(
    "le la les des du de un une est sont combien depuis quelle quel quels quelles entre avec dans pour sur pres "
    "eau et en au aux ce cette il elle zone dernier derniere derniers dernieres annee annees ou qui que quoi "
    "montre decris compte compter trouve cherche liste nombre autour rayon nuages carte occupation sol sols "
    "foret batiments navires bateaux arbres voitures vehicules incendie brulee inondation inondations crues "
    "je tu vous moi svp stp cb hier demain mois ces actuellement ville gare champs parcelles cuves lacs "
    "immeubles maisons nebulosite nuageuse masque perte couvert deboisement etalement urbain urbaine croissance "
    "constructions nouvelles nouveaux changements differences detecte regarde voit vois sais pas trop bof "
    "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre "
    "vous avez t donne apercu part quand prise prises surface etendue niveau ont eu "
    "avez avons suis sont-ils lors feux traces indice cicatrice disponibles scenes truc machin chose bidule "
    "voit-on quoi rien".split()
)
_EN_WORDS = frozenset(
    "the a an is are was were how many much since what which where when between with in for on near at of "
    "and this that these there imagery show me count find list search any compare changed change flooded "
    "flooding flood water forest buildings ships boats trees cars fire burned burnt burn scar area last year "
    "summer has have did does do grown tell about give please you your can see look like latest surroundings "
    "within around over from to by get map measure estimate detect changes pics available "
    "lost loss new built cover share healthy green cloudy taken appeared left visible before after "
    "january february march april may june july august september october november december".split()
)
_ELISION = re.compile(r"\b(?:l|d|qu|s|n|j|c)'\w")


def detect_language(folded: str, original: str) -> Language:
    """French or English, from cue words, elisions and accented words (English on ties)."""
    words = re.findall(r"[a-z]+", _ELISION.sub(" ", folded))
    fr = float(sum(w in _FR_WORDS for w in words) + len(_ELISION.findall(folded)))
    fr += 1.5 * sum(1 for w in original.split() if re.search(r"[àâçéèêëîïôûùüÿœ]", w.lower()))
    # a word of both languages ("compare", "images", "zone") is evidence of neither
    en = sum(w in _EN_WORDS and frequency(w, "fr") < BOTH_LANGUAGES for w in words)
    return "fr" if fr > en else "en"


BOTH_LANGUAGES = 4e-6
"""French frequency above which an English cue word is also an everyday French word."""


# (pattern, weight). Patterns run on folded text; weights decide between competing themes.
INTENT_CUES: dict[Intent, list[tuple[str, float]]] = {
    "burn": [
        (r"\bburn\w*", 3), (r"\bbrul\w*", 3), (r"\bincendi\w*", 3), (r"\bwildfires?\b", 3), (r"\bfires?\b", 3),
        (r"\bfeux?\b", 3), (r"\bd?nbr\b", 3), (r"\bcicatrice\w*", 1), (r"\bscars?\b", 1),
    ],
    "deforestation": [
        (r"\bdeforest\w*", 4), (r"\bdeboise\w*", 4), (r"\bdefrich\w*", 4), (r"\bclearings?\b", 3),
        (r"\b(?:rain|jungle )?forest\w*\b.{0,30}\b(?:lost|loss|disappear\w*|cut|clear\w*|felled|destroy\w*|gone)", 4),
        (r"\b(?:trees?|woods?|woodland)\b.{0,8}\b(?:cut|felled|cleared|chopped|logged)\b"
         r"|\barbres\b.{0,8}\babattus\b", 5),
        (r"\b(?:loss|lost) of (?:rain|tropical |primary )?forest", 4), (r"\bndvi loss\b", 4), (r"\blogging\b", 3),
        (r"\bmangroves?\b.{0,20}\b(?:loss|lost|cleared|cut|recul\w*|perte|perdu\w*|disparu\w*)"
         r"|\b(?:loss|perte|recul) (?:of |de la |des |de |du )?mangroves?\b", 4),
        (r"\b(?:foret|forest)\w*\b.{0,30}\b(?:perdu\w*|disparu\w*|coupe\w*|rase\w*|detrui\w*)", 4),
        (r"\bperte de (?:couvert )?forest\w*", 4), (r"\bcouvert forestier\b", 3),
        (r"\b(?:recul|perte|disparition|regression|diminution|reduction)s? (?:de la |des |du |de )?"
         r"(?:foret|forest|bois|couvert forestier|massif forestier)\w*", 4),
        (r"\b(?:loss|decline|shrinking|retreat|disappearance|reduction) of (?:the )?"
         r"(?:forest|woods|woodland|tree)\w*", 4),
        (r"\b(?:tree|canopy|forest|woody) (?:cover |canopy )?(?:loss|lost|decline)\b", 4),
        (r"\bloss of (?:tree|canopy)\b", 4),
        (r"\b(?:foret|forest|bois|arbres)\w* en moins\b|\bmoins de foret\b|\bless forest\b", 4),
        (r"\b(?:forest|foret|woods?|tree cover)\w*\b.{0,20}\b(?:shr[iu]nk\w*|reduc\w*|recul\w*|diminu\w*)", 4),
        (r"\bdieback\b|\bdeperissement\w*|\bbark beetle\w*|\bscolytes?\b", 4),
        (r"\bperte (?:de|du) (?:couvert (?:arbore|vegetal)|canopee|foret\w*|surface forestiere)\b", 4),
        (r"\b(?:trees?|woods?|woodland)\b.{0,20}\b(?:cut down|felled|cleared|removed|logged)\b", 4),
        (r"\b(?:clear[- ]?cut\w*|coupes? rases?|arbres?\b.{0,20}\b(?:abattus|coupes|rases))\b", 4),
        # what will be left of a forest ("how much of the amazon will be left", "il en restera combien")
        (r"\b(?:forest|foret|rainforest|jungle|amazon\w*)\b.{0,40}\b(?:left|remain\w*|restera\w*|reste\w*|lose|"
         r"loses|losing|perdra\w*)(?!\w)|\b(?:left|remain\w*|restera\w*|reste\w*|lose|perdra\w*)\b.{0,30}"
         r"\b(?:forest|foret|rainforest|jungle|amazon\w*)\b", 4),
    ],
    "water_flood": [
        (r"\bflood\w*", 4), (r"\binn?ond\w*", 4), (r"\bcrues?\b", 4), (r"\bsubmerg\w*", 3), (r"\bdeborde\w*", 3),
        (r"\boverflow\w*", 3), (r"\bburst (?:its|their|the) banks\b", 4), (r"\bsorti\w* de (?:son|leur) lit\b", 4),
        (r"\bhigh water\b", 3), (r"\bwater\b", 2), (r"\beau\b", 2), (r"\b(?:m?ndwi)\b", 3), (r"\breservoir\b", 2),
        (r"\blakes?\b", 1), (r"\blac\b", 1), (r"\brivers?\b", 1), (r"\bshr[iu]nk\w*", 1), (r"\bretreci\w*", 1),
        (r"\b(?:superficie|surface|area|extent|size|niveau|level)\b.{0,25}\b(?:etangs?|lacs?|lakes?|reservoirs?|"
         r"lagoons?|lagunes?|marais|wetlands?|retenues?)\b", 3),
        (r"\bunder ?water\b|\bsous l'eau\b|\bsous les eaux\b|\bnoye\w*|\bwaterlogged\b", 4),
        (r"\b(?:drained|dr(?:y|ied|ies|ying) up|r[au]n dry|asseche\w*|assechement|vidange\w*|a sec)\b", 2),
    ],
    "urban_growth": [
        (r"\burban\w*", 3), (r"\burbain\w*", 3), (r"\burbani[sz]\w*", 3), (r"\bsprawl\w*", 3), (r"\bbuilt[- ]up\b", 3),
        (r"\bbatie?s?\b", 3), (r"\bconstructions?\b", 3), (r"\bconstrui\w*", 3), (r"\bnew buildings?\b", 3),
        (r"\bnouveaux batiments\b", 3), (r"\bchantiers?\b", 3), (r"\betalement\b", 3), (r"\bndbi\b", 3),
        (r"\bwhat was built\b", 3), (r"\bville\b.{0,25}\bgrandi\b", 3), (r"\bgrow\w*|\bgrew\b|\bgrandi\w*", 1),
        (r"\bbuilt\b|\bbatis?\b", 2), (r"\bs'(?:etend\w*|agrandi\w*)|\bspread\w*|\bextension urbaine\b", 2),
        (r"\bexpan\w*", 1), (r"\bgrowth\b", 1), (r"\bcroissance\b", 1),
        (r"\bgrignot\w*|\bartificialis\w*|\bbetonn\w*|\bnew (?:houses|homes|neighbou?rhoods?|districts?)\b", 3),
        (r"\b(?:got|been|was|were|being) built\b", 3),
        (r"\bs'(?:est|sont)(?:-(?:il|elle)s?)? (?:etendu|agrandi)\w*", 2),
        (r"\bnouveaux quartiers\b|\bnew (?:housing|neighbou?rhoods?|districts?)\b|\bhousing\b|\blogements?\b", 3),
        (r"\blotissements?\b", 3),
        (r"\b(?:houses|homes|buildings?|maisons|batiments|immeubles)\b.{0,15}"
         r"\b(?:pop(?:ped|ping)? up|sprang up|spr[iu]ng up|appeared|apparu\w*|pouss\w*|sorti\w* de terre)", 5),
        (r"\bnew (?:houses|homes|buildings?|constructions?|housing)\b|\b(?:batiments|maisons|immeubles) neu(?:fs|ves)\b"
         r"|\bbatiments? nouveaux\b", 4),
        (r"\bbeton\w*|\bconcrete\b|\bimpermeabilis\w*|\bartificialis\w*", 3), (r"\bextension\b|\bbuil[dt]s? up\b", 2),
        (r"\b(?:buildings?|batiments?|maisons|houses|homes|immeubles)\b.{0,30}\b(?:appear\w*|apparu\w*|went up|"
         r"sprung up|built|construit\w*|sortis? de terre|pouss\w*)", 3),
    ],
    "industrial_activity": [
        (r"\bindustri\w*", 3), (r"\brefiner\w*", 3), (r"\braffinerie\w*", 3), (r"\bactivit\w*", 2),
        (r"\bnew structures\b", 2), (r"\bnouvelles structures\b", 2), (r"\btank farm\b", 2), (r"\busines?\b", 2),
        (r"\bfactor(?:y|ies)\b", 2), (r"\bpetrochimi\w*|\bpetrochemical\b", 3),
        (r"\bmines?\b|\bmining\b|\bminier\w*|\bopen[- ]pit\b|\bquarr(?:y|ies)\b|\bcarrieres?\b", 3),
        (r"\b(?:lng|gnl|oil|gas|petroleum|petrolier|methanier)\b.{0,15}\b(?:terminal|terminaux|depot|plant)\b", 3),
        (r"\bterminal\b|\bterminaux\b", 2), (r"\btermina(?:l|ux) (?:methanier|petrolier|gazier|charbonnier)s?\b", 3),
        (r"\b\w*raffiner\w*|\b\w*refiner(?:y|ies)\b|\btourne-t-(?:il|elle)\b", 3),
        (r"\bports?\b|\bharbou?rs?\b|\bdocks?\b", 1),
        (r"\b(?:ports?|harbou?rs?|zone portuaire|docks?|terminal|quais?)\b.{0,40}\b(?:expan\w*|agrandi\w*|grow\w*|grew|"
         r"chang\w*|extension|s'(?:est )?etend\w*|evolu\w*)", 3),
        (r"\b(?:expan\w*|agrandi\w*|extension|chang\w*|evolution)\b.{0,30}\b(?:ports?|harbou?rs?|zone portuaire)\b", 3),
        (r"\bzone portuaire\b|\bportuaires?\b", 2), (r"\bca bouge\b|\bbusy\b|\bmovement\w*|\bmouvements?\b", 2),
        (r"\bsteel ?works\b|\bsteel (?:mill|plant)\b|\bacierie\w*", 3),
        (r"\bsmelter\w*|\bfonderie\w*|\bpower (?:plant|station)\b|\bcentrale (?:thermique|electrique)\b", 3),
        (r"\bsmoke\b|\bfumees?\b|\bpanaches?\b", 2),
        (r"\bgigafactor\w*|\b(?:tesla|car|battery|chemical|cement|steel|nuclear) (?:plant|factory)\b|\busines?\b"
         r"|\bepr\b|\bcentrales? (?:nucleaire|a charbon|a gaz|solaire)s?\b|\braffinerie\w*|\brefiner(?:y|ies)\b", 4),
        (r"\b(?:is it|still) (?:running|working|operating)\b", 2),
        # "what's going on at X", "qu'est-ce qui se passe sur X": activity at a site (an image is described instead)
        (r"(?:\bwhat(?:'s| is|s) (?:going on|happening)\b|\bwhats going on\b|\bse passe\w*)"
         r"(?!.{0,40}\b(?:images?|pictures?|photos?|scenes?|tiles?|tuiles?)\b)", 3),
        (r"\bplate-?formes? (?:chimique|petrochimique|industrielle|logistique)s?\b|\bchemical (?:site|platform|park)\b"
         r"|\bsites? (?:chimique|petrolier|industriel|seveso)s?\b|\bzone industrielle\b", 3),
        (r"\b(?:plant|usine|site)\b.{0,30}\b(?:running|operat\w*|fonctionne|tourne)\b", 2),
    ],
    "land_cover": [
        (r"\bcartes? d(?:es|u) (?:sols?|terres|terrains|milieux)\b|\bcartographie d(?:es|u) (?:sols?|milieux)\b", 4),
        (r"\bland[- ]?(?:cover|use)\b", 4), (r"\boccupation d(?:u|es) sols?\b", 4),
        (r"\busages? d(?:u|es) sols?\b", 4), (r"\butilisation d(?:u|es) sols?\b", 4), (r"\btypes? de sols?\b", 4),
        (r"\bclassif\w*", 3), (r"\blulc\b", 4),
        (r"\bclasses? (?:de |du |des |d')?(?:sols?|terrains?|terres|couverture|occupation)\b"
         r"|\b(?:land|ground|cover) (?:classes|types|categories)\b|\bwhat covers the ground\b", 4),
        (r"\bclasse l\b", 3), (r"\brepartition\b", 2),
        (r"\bforets?\s*/\s*cultures?\b|\bforests?\s*/\s*crops?\b", 3),
        (r"\bforest, crops\b|\bforet, en cultures\b|\ben cultures\b", 3),
    ],
    "vegetation": [
        (r"\bvegeta\w*", 3), (r"\bvegetal\w*", 3), (r"\bveg\b|\bvege\b", 3),
        (r"\bsante (?:des|de la|du) (?:cultures|vegetation|forets?|arbres|prairies|vignes)\b|\bcrop health\b", 3),
        (r"\bndvi\b", 3), (r"\bgreen (?:cover|spaces?)\b", 3),
        (r"\bgreenness\b", 3), (r"\bverdure\b", 3), (r"\bespaces verts\b", 3), (r"\bhealthy\b", 1),
        (r"\bgreen(?:er|est|ing)\b", 3), (r"\bhow green\b", 3), (r"\bplus verte?s?\b|\bmoins verte?s?\b|\bverdi\w*", 3),
        (r"\bbonne sante\b", 1), (r"\btree (?:cover|canopy)\b|\bcanopy\b|\bcanopee\b|\bcouv\w* arbore\w*", 2),
    ],
    "cloud": [
        (r"\bcloudy\b", 4), (r"\bciel (?:couvert|voile|bouche|gris)\b|\bcouvert de nuages\b", 4),
        (r"\bcloudiness\b|\bovercast\b|\bennuag\w*", 4),
        (r"\bnuageu\w*", 4), (r"\bnebulosite\b", 4), (r"\bcloud (?:cover|mask)\b", 4),
        (r"\bcouverture nuageuse\b", 4), (r"\bmasque de nuages\b", 4), (r"\bclouds?\b", 1), (r"\bnuages?\b", 1),
        (r"\b(?:percentage|percent|fraction|share|proportion|amount|part|pourcentage|taux|quantite) (?:of|de|d')\s?"
         r"(?:the )?(?:clouds?|nuages?|cloud cover)\b", 4),
        (r"\bcloud (?:percentage|fraction|coverage|amount)\b", 4), (r"\bennuagement\b|\bfraction nuageuse\b", 4),
        (r"\bcover(?:ed)? (?:by|with|in) clouds?\b|\bcouverte? (?:de|par (?:les|des)) nuages\b", 4),
    ],
    "describe": [
        (r"\bdescri\w*", 2), (r"\bdecri\w*", 2), (r"\bwhat (?:do )?you see\b", 2), (r"\bce que tu vois\b", 2),
        (r"\bwhat(?:'s| is) (?:at|in|going on|there)\b", 2), (r"\bqu'y a-t-il\b", 2), (r"\bque se passe", 2),
        (r"\b(?:going on|happening|se passe\w*(?:-t-il)?)\s+(?:in|on|sur|dans)\s+(?:the|this|that|l'|la|le|cette|ce)\s*"
         r"(?:[\w-]+\s+){0,3}(?:images?|pictures?|photos?|scenes?|tiles?|tuiles?|scene)\b", 5),
        (r"\blook(?:s)? like\b", 2), (r"\bressembl\w*", 2), (r"\bshow me\b", 1), (r"\bmontre", 1),
        (r"\bquick ?look\b", 2), (r"\bapercu\b", 2), (r"\btell me about\b", 2), (r"\bparle-moi\b", 2),
        (r"\boverview\b", 2), (r"\blook at\b", 2), (r"\bregarde\w*", 2), (r"\bwhat you see\b", 2),
        (r"\bpictures?\b|\bphotos?\b", 2), (r"\b(?:give|send|show) me\b|\b(?:envoie|donne|montre)-moi\b", 1),
        (r"\bwhat can (?:be|you|we|i|one) see\b|\bwhat (?:is|'s) visible\b|\bcan be seen\b", 2),
        (r"\b(?:que|qu'est-ce qu'on|qu'est-ce que l'on|ce qu'on|ce que l'on) (?:voit|distingue|apercoit)\b", 2),
        (r"\bvoit-on\b|\bdistingue-t-on\b|\bvisibles?\b", 1),
        (r"\bwhere(?: is|'s| are)\b|\bou (?:est|sont|se trouve\w*|se situe\w*)\b|\blocate\b|\blocalise\w*", 2),
        (r"\bc (?:quoi|koi) (?:a|au|aux|en|sur|dans|la-bas|ici)\b", 2),
        (r"\bc'est ou\b|\bou c'est\b|\bou ca se (?:trouve|situe)\b|\bwhereabouts\b", 2),
        (r"\bwhat(?:'s| is|s) (?:on|in)\b|\bc'est quoi\b|\bqu'est-ce que c'est\b|\bwhats at\b", 2),
        (r"\bqu'est-ce qu'on (?:y )?voit\b|\bon y voit\b|\bqu'y a-t-il\b|\bqu'est-ce qu'il y a\b|\bce qu'il y a\b", 2),
        (r"\bwhat (?:does|do|did) .{0,40}\bshow\b|\b(?:que|qu'est-ce que|ce que) montre\w*|\bqu'y voit-on\b", 2),
    ],
    "find_imagery": [
        (r"\bfind\b", 2), (r"\bsearch\w*", 2), (r"\blist\b", 2), (r"\bavailable\b", 2), (r"\bpics\b", 2),
        (r"\bimages? do you have\b", 3), (r"\bimages avez-vous\b", 3), (r"\btrouve\w*", 2), (r"\bcherche\w*", 2),
        (r"\bliste\w*", 2), (r"\bdisponibles?\b|\bdispos?\b", 2),
        (r"\b(?:tout|toute|all|whole|entire|full)\s+(?:le |la |the |your |ton |votre )?(?:catalog\w*|archive)\b", 3),
        # the catalog itself: "what datasets do you have", "quels jeux de données tu as", "everything you've got"
        (r"\b(?:datasets?|jeux de donnees|collections)\b.{0,25}\b(?:have|got|as|avez|dispo\w*|available)\b"
         r"|\b(?:all|tous les|toutes les) (?:datasets?|jeux de donnees|collections)\b"
         r"|\beverything you(?:'ve| have)? got\b|\b(?:what|which) (?:datasets?|collections)\b"
         r"|\b(?:quels?|quelles?) (?:jeux de donnees|collections|donnees)\b", 4),
        (r"\bwhen was\b.{0,40}\b(?:image|scene)", 3),
        (r"\bquand a ete prise\b", 3), (r"\b(?:any|des) (?:images|imagery|scenes|pics)\b", 2),
        (r"\b(?:got|have|has) any\b|\bdo (?:you|we) have\b|\bavez-vous\b|\bas-tu\b"
         r"|\b(?:is there|are there|y a-t-il|y a t il) (?:any |des |une )?"
         r"(?:images?|imagery|scenes?|pics?|photos?|vues?)\b"
         r"|\bany (?:sentinel\w*|landsat|s2|s1|spot|pleiades|naip|aerial|satellite|recent)\b", 2),
        (r"\b(?:latest|last|newest|most recent|derniere?s?|plus recente?s?) (?:pic|picture|image|photo|vue|scene)s?\b"
         r"|\bvue satellite\b", 2),
        (r"\bimages?\b", 1), (r"\bimagery\b", 1), (r"\bscenes?\b", 1),
    ],
    "find_similar": [
        (r"\b(?:other|more|similar) (?:\w+ ){0,2}(?:sites?|places?|areas?|fields?|ones?|spots?)\b.{0,40}\blike\b", 6),
        (r"\blike (?:this|that|the one)\b", 2), (r"\bsimilar (?:to|places|sites|areas)\b", 6),
        (r"\bcomme (?:celle|celui|celles|ceux)[- ](?:ci|la)\b", 6), (r"\bsemblables?\b|\bsimilaires?\b", 5),
        (r"\bqui ressembl\w* a (?:ce|cet|cette|celle|celui|ca)\b", 6), (r"\bresembl\w+ (?:this|that)\b", 6),
    ],
    "map_examples": [
        (r"\bfrom (?:these|those|my|the|a few) (?:labell?ed )?(?:points|examples|samples|polygons)\b", 7),
        (r"\ba partir (?:de ces|des|de mes|de quelques) (?:points|exemples|echantillons|polygones)\b", 7),
        (r"\bfew[- ]shot\b", 6), (r"\bmap_from_examples\b", 7),
    ],
    "change_generic": [
        (r"\bchang\w*", 2), (r"\bdiffer\w*|\bdiff\b", 2), (r"\bcompar\w*", 1), (r"\bevolu\w*", 1),
        (r"\bwhat'?s new\b|\bquoi de neuf\b", 2),
    ],
}  # fmt: skip

CHANGE_CUES = re.compile(
    r"\b(?:chang\w*|differ\w*|diff|compar\w*|evolu\w*|grown|grow\w*|grandi|agrandi\w*|increase\w*|decrease\w*|"
    r"augment\w*|diminu\w*|baiss\w*|expan\w*|shr[iu]nk\w*|retreci\w*|lost|loss|perdu\w*|perte|disappear\w*|"
    r"disparu\w*|appeared|apparu\w*|new|nouve\w*|before|after|avant|apres|vs|versus|since|depuis|drained|"
    r"dr(?:y|ied|ies|ying) up|r[au]n dry|asseche\w*|assechement|vidange\w*|extension|s'(?:est )?etend\w*)\b|→"
)
"""Words that turn a state question (water extent, land cover, counts) into a change question."""

GROWTH_CUES = re.compile(
    r"\b(?:growth|grow\w*|grown|grandi|sprawl\w*|etalement|croissance|expan\w*|new|nouve\w*|construction\w*|"
    r"construit|urbanisation|urbanization|augment\w*|increase\w*|chantiers?|what was built)\b"
)
"""Urban questions about growth (change) rather than the current built-up share."""

EXPANSION_CUES = re.compile(
    r"\b(?:expan\w*|agrandi\w*|grown|grow\w*|grew|extension|s'(?:est )?etend\w*|footprint|emprise)\b"
)
"""A site's growth in area ("has the mine expanded", "le port s'est-il agrandi"), as opposed to its activity."""

EVENT_CUES = re.compile(
    r"\b(?:flood\w*|inn?ond\w*|crues?|submerg\w*|deborde\w*|overflow\w*|burst (?:its|their|the) banks|"
    r"sorti\w* de (?:son|leur) lit|under ?water|sous l'eau|sous les eaux|noye\w*|waterlogged)\b"
)
"""Flood words: a water question about a flood compares with a dry reference before the event."""

LOSS_CUES = re.compile(r"\b(?:decrease\w*|declin\w*|loss|lost|diminu\w*|baiss\w*|perte|perdu\w*|recul\w*)\b")

COUNT_CUES = re.compile(
    r"\b(?:how m\w{2}y|count\w*|number of|nombre d\w*|cb de|compte\w*|denombr\w*)\b|(?<!\bde )\bcombien\b"
)
"""Explicit counting ("how many", "combien" but not "de combien" = by how much): with an object, always a count."""

LOCATE_CUES = re.compile(r"\b(?:detect\w*|locate|locali[sz]\w*|where are|ou sont)\b")
"""Weaker cues: with an object they mean counting only when no theme (new buildings, flooded fields) is named."""

OBJECT_SYNONYMS: dict[ObjectClass, str] = {
    "storage_tank": r"storage tanks?|oil tanks?|tanks?|cuves?(?: de stockage)?|reservoirs",
    "water_body": r"water bod(?:y|ies)|plans? d'eau|lakes?|lacs?|ponds?|etangs?",
    "ship": r"ships?|boats?|vessels?|navires?|bateaux|bateau|tankers?|cargos?|porte-conteneurs",
    "vehicle": r"cars?|vehicles?|trucks?|lorr(?:y|ies)|voitures?|vehicules?|camions?|camionnettes?|autos?|bagnoles?|"
    r"tutures?|caisses garees",
    "tree": r"trees?(?! cover| canopy)|arbres?|crowns?|tree crowns?|houppiers?",
    "building": r"buildings?|batiments?|maisons?|houses?|immeubles?|roofs?|rooftops?|toits?|toitures?|"
    r"greenhouses?|serres?(?![-\w])|warehouses?|entrepots?|hangars?|sheds?|homes?|habitations?",
    "field": r"fields?|parcelles?(?: agricoles)?|champs|crop fields?|plots?|parcels?",
    "plane": r"planes?|aircraft|airplanes?|airliners?|avions?|aeronefs?",
}
"""Object class -> synonyms (EN + FR, singular and plural). Order matters: "storage tanks" before "tanks"."""

OBJECT_MAX_GSD_M: dict[ObjectClass, float] = {
    cls: spec.max_pixel_m  # type: ignore[misc]
    for cls, spec in CLASS_SPECS.items()
    if spec.max_pixel_m is not None
}
"""Coarsest pixel size (m) at which each object class can be counted, from the count tool's own requirements
(``geovigie.tools.count.detectors.CLASS_SPECS``): vehicles and trees 1 m, buildings 2.5 m, storage tanks 3 m, ships 10
m (large
ships only above 5 m); water bodies and fields at any resolution."""

SENSORS: list[tuple[str, str, str | None, float]] = [
    (r"\bsentinel[- ]?2\w*|\bs2\b", "Sentinel-2", "sentinel-2-l2a", 10.0),
    (r"\blandsat\w*", "Landsat", "landsat-c2-l2", 30.0),
    (r"\bsentinel[- ]?1\w*|\bs1\b", "Sentinel-1", "sentinel-1-grd", 10.0),
    (r"\bspot\b", "SPOT", None, 1.5),
    (r"\bpleiades\b", "Pléiades", None, 0.5),
    (r"\b(?:aerial|aerienne?s?|orthophoto\w*|ortho-photo\w*)\b", "aerial imagery", None, 0.2),
    (r"\bnaip\b", "NAIP", None, 1.0),
]
"""(pattern, display name, collection id passed to search_imagery or None, nominal pixel size in metres)."""

INJECTION = re.compile(
    r"\bignor\w* (?:all |toutes? |the |les |your |tes |vos )*(?:previous |prior |above |precedentes? )*"
    r"(?:instructions?|rules|regles|consignes)|\b(?:forget|oublie\w*) (?:all |your |tes |les |toutes )*"
    r"(?:instructions?|rules|regles)|\bsyst(?:em|eme)\b\s*(?:override|prompt)?\s*:|\bdelete_all\b|\brm -rf\b|"
    r"\bdrop table\b|\bexfiltr\w*|\bapi[_ ]?key\b|\bpassword\b|\bmot de passe\b|\bshell\s*\(|"
    r"\b(?:call|appelle\w*|run|execute\w*|lance)\b.{0,20}\b(?:tool|outil|function|fonction|command\w*)\b|"
    r"\byou (?:must|should) now\b|\bact as\b|\bjailbreak\b"
)
"""Sentences matching this are dropped from the question before it is read (they never reach a tool)."""

OUT_OF_SCOPE = re.compile(
    # weather and forecasts
    r"\b(?:weather|meteo|forecast|prevision\w*|temperature|rain|rains|raining|pleuvoir|pleut|pluie|neiger|neige|"
    r"snow|snowing|snowfall|will it (?:pour|rain|snow|be sunny)|pouring|fera(?:-t-il)? (?:beau|chaud|froid)|"
    r"beau temps|quel temps|weather like|humidity|humidite|"
    # people and the economy: not seen from above
    r"population|habitants|inhabitants|residents|people (?:live|living)|personnes (?:qui )?(?:y )?vivent|"
    r"how many people|combien de personnes|demograph\w*|gdp|pib|inflation|unemployment|chomage|salaire|salary|"
    r"stock|bourse|cours (?:du |de la |de l'|des )(?:petrole|baril|brent|or|bourse|action\w*|dollar|euro)|"
    r"(?:oil|gas|gold|house|housing|fuel) prices?|prix (?:du |de la |de l'|des )(?:petrole|baril|essence|gaz|"
    r"immobilier|logements?|maisons?)|"
    r"recipe|recette|news|actualites?|restaurants?|hotels?|traffic jam|bouchons|elections?|president|"
    # sport, prices and costs
    r"champions league|world cup|coupe du monde|ligue des champions|who won|qui a gagne|football|"
    r"prix (?:du |de la |de l'|des |d'un |d'une )|price of|how much does .{1,40} cost|combien coute|cost of)\b"
)
"""Topics GeoVigie does not answer from imagery: weather, people and the economy, news and services."""

_TYPO_VOCABULARY = (
    "deforestation flooding inondation urbanisation urbanization vegetation construction industrial industriel "
    "occupation classification buildings batiments vehicules describe wildfire incendie sentinel imagery"
).split()


def fix_typos(folded: str) -> str:
    """Replace words of 6+ letters that are one slip away from a cue word ("deforrestation", "inondaton").

    The vocabulary holds only cue stems matched with open endings, so mapping an inflected form onto its stem
    ("constructions" -> "construction") changes nothing downstream.
    """

    def repl(m: re.Match[str]) -> str:
        word = m.group()
        if len(word) < 6 or word in _TYPO_VOCABULARY:
            return word
        close = difflib.get_close_matches(word, _TYPO_VOCABULARY, n=1, cutoff=0.88)
        return close[0] if close else word

    return re.sub(r"[a-z]+", repl, folded)


def intent_scores(folded: str) -> dict[Intent, float]:
    """Sum of cue weights per intent (only intents with at least one cue)."""
    scores: dict[Intent, float] = {}
    for intent, cues in INTENT_CUES.items():
        total = sum(weight for pattern, weight in cues if re.search(pattern, folded))
        if total:
            scores[intent] = total
    return scores


def find_object(folded: str) -> ObjectClass | None:
    """The first object class named in the text (by position), or None."""
    best: tuple[int, ObjectClass] | None = None
    for cls, pattern in OBJECT_SYNONYMS.items():
        m = re.search(r"\b(?:" + pattern + r")\b", folded)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), cls)
    return best[1] if best else None


def find_sensor(folded: str) -> tuple[str, str | None, float] | None:
    """(display name, collection id or None, nominal pixel size) of the sensor the user names, if any."""
    for pattern, name, collection, gsd in SENSORS:
        if re.search(pattern, folded):
            return name, collection, gsd
    return None
