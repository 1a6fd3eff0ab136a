"""Follow-ups in a conversation about catalog images name other images by a stem, a place or dates alone."""

from datetime import date

from geovigie.agent.offline import understand
from geovigie.agent.offline.dialogue import DialogueState
from geovigie.agent.offline.followup import combine

TODAY = date(2026, 12, 1)
KNOWN = ("neon-SOAP_061", "neon-OSBS_029", "neon-2019_YELL_2_541000_4977000_image_crop", "oscd-nantes-2017-10-14",
         "oscd-rennes-2017-06-21", "oscd-rennes-2015-08-21", "landsat-pucallpa-1985", "landsat-pucallpa-2000",
         "landsat-pucallpa-2010", "landsat-pucallpa-2020")  # fmt: skip


def _turns(*questions: str):
    state, u = DialogueState(), None
    for q in questions:
        u = combine(understand(q, today=TODAY, known_items=KNOWN), state, KNOWN)
        state = DialogueState(task=u, language=u.language)
    assert u is not None
    return u


def test_a_stem_alone_names_another_image_of_the_dataset():
    u = _turns("count the trees on SOAP_061", "and on OSBS?")
    assert u.item_refs == ("neon-OSBS_029",) and u.intent == "count_objects" and u.object == "tree"
    u = _turns("compte les arbres sur SOAP_061", "et sur YELL ?")
    assert u.item_refs == ("neon-2019_YELL_2_541000_4977000_image_crop",) and u.place is None


def test_a_place_and_year_after_an_image_is_that_place_s_image():
    u = _turns("water on the oscd nantes 2017 image", "same for rennes 2017")
    assert u.item_refs == ("oscd-rennes-2017-06-21",) and u.intent == "water_flood"


def test_dates_alone_pick_the_series_images_at_those_dates():
    u = _turns("deforestation on the pucallpa images 1985 vs 2020", "now 2000 → 2010")
    assert u.item_refs == ("landsat-pucallpa-2000", "landsat-pucallpa-2010") and u.change


def test_a_place_follow_up_after_a_place_question_stays_a_place():
    u = _turns("urban growth in Nantes since 2016", "et à Rennes ?")
    assert u.place == "Rennes" and not u.item_refs
