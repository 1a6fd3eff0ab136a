"""Images named the way people name them are linked to catalog ids; a place alone is not an image."""

from datetime import date

from geovigie.agent.offline import facts_of, understand
from geovigie.agent.offline.date_fit import fit_dates
from geovigie.agent.offline.dates import DateInfo, parse_dates
from geovigie.agent.offline.linking import link_items
from geovigie.agent.offline.periods import Period

TODAY = date(2026, 12, 1)
ITEMS = ("dota-P0706", "dota-P1888", "neon-2018_SJER_3_252000_4107000_image_477", "levir-A-test_2_0000_0512",
         "levir-B-test_2_0000_0512", "levir-A-test_2_0000_0000", "levir-B-test_2_0000_0000",
         "oscd-rennes-2015-08-21", "oscd-rennes-2017-06-21", "naip-m_4709963_se_14_1_20090818",
         "naip-m_4709963_se_14_1_20200831", "sen1floods11-Spain_7370579_S1Hand",
         "sen1floods11-Spain_7370579_S2Hand", "landsat-taizhou-2000TM", "landsat-taizhou-2003TM")  # fmt: skip


def _link(question: str, change: bool = False):
    return link_items(question, ITEMS, parse_dates(question, today=TODAY), change=change)


def test_stems_datasets_dates_and_sensors_link_to_ids():
    assert _link("how many ships in P0706?").items == ("dota-P0706",)
    assert _link("combien d'arbres dans la parcelle SJER 477").items == (ITEMS[2],)
    assert _link("show me the 2009 NAIP tile").items == ("naip-m_4709963_se_14_1_20090818",)
    assert _link("water mask of the radar version of the Spain flood chip").items == (ITEMS[11],)
    assert _link("the Spain flood chip").items == (ITEMS[12],)  # optical unless radar is named
    assert _link("la deuxième image de Rennes").items == ("oscd-rennes-2017-06-21",)


def test_pairs_come_back_in_date_order():
    assert _link("what changed on the Taizhou Landsat pair", change=True).items == ITEMS[13:15]
    assert _link("what got built in levir test_2_0000_0512?").items == ITEMS[3:5]


def test_a_place_alone_is_not_an_image_and_ties_are_reported():
    assert _link("urban growth in Rennes since 2016").items == ()
    assert set(_link("describe the dota picture").tied) == {"dota-P0706", "dota-P1888"}
    u = understand("describe the dota picture", today=TODAY, known_items=ITEMS)
    assert u.asks == "image" and "dota-P0706" in (u.clarification or "")


def test_year_ranges_fit_the_question():
    listing = fit_dates(parse_dates("images 2020 vs 2022", today=TODAY), listing=True, change=False)
    assert listing.kind == "range" and listing.before is None
    years = DateInfo(kind="range", period=Period(date(2019, 1, 1), date(2025, 12, 31)), unit="span")
    change = fit_dates(years, listing=False, change=True)
    assert change.kind == "compare" and change.before == Period(date(2019, 1, 1), date(2019, 12, 31))
    assert change.after == Period(date(2025, 1, 1), date(2025, 12, 31))
    days = DateInfo(kind="range", period=Period(date(2019, 3, 2), date(2019, 9, 30)), unit="span")
    assert fit_dates(days, listing=False, change=True) == days  # a range of days stays one window


SLOVENIA = tuple(f"eolearn-slovenia-S2_L1C_2015{d}" for d in ("0711", "0731", "0820", "0830", "0909"))


def test_catalog_facts_name_images_by_place_and_date():
    vegas = facts_of("spacenet-road_mask_input", collection="spacenet", bbox=(-115.2, 36.1, -115.1, 36.2))
    atlanta = facts_of("spacenet-sample_geotiff", collection="spacenet", bbox=(-84.42, 33.74, -84.38, 33.78))
    facts = {f.id: f for f in (vegas, atlanta)}
    ids = (*ITEMS, vegas.id, atlanta.id)
    assert "vegas" in vegas.words and "cc:us" in vegas.words  # the city people know, not the nearest suburb
    for question, expected in (("describe the las vegas spacenet image", vegas.id),
                               ("buildings in the atlanta spacenet tile", atlanta.id)):  # fmt: skip
        link = link_items(question, ids, parse_dates(question, today=TODAY), change=False, facts=facts)
        assert link.items == (expected,)
    without = link_items("describe the las vegas spacenet image", ids, DateInfo(), change=False)
    assert not without.items  # the ids alone do not say where the images are


def test_days_without_a_year_and_date_digits():
    for question, day in (("landcover on the slovenia 9 sept scene", "0909"),
                          ("nuages sur l'image slovenie du 31 juillet ?", "0731"),
                          ("occupation du sol sur l'image slovenie du 11/07/2015", "0711")):  # fmt: skip
        link = link_items(question, SLOVENIA, parse_dates(question, today=TODAY), change=False)
        assert link.items == (f"eolearn-slovenia-S2_L1C_2015{day}",), question
    u = understand("combien de voitures dans P1888", today=TODAY, known_items=ITEMS)
    assert u.item_refs == ("dota-P1888",) and u.dates.kind == "none"  # not the year 1888
    u = understand("combien de maisons sur sample_geotiff.tif", today=TODAY, known_items=("spacenet-sample_geotiff",))
    assert u.item_refs == ("spacenet-sample_geotiff",)


def test_ordinals_read_as_dates_and_joined_stems_still_name_images():
    naip = ("naip-m_4709963_se_14_1_20090818", "naip-m_4709963_se_14_1_20200831", *ITEMS[:2])
    q = "végétation sur la tuile naip la plus récente"
    assert link_items(q, [*naip, *ITEMS], parse_dates(q, today=TODAY), change=False).items == (naip[1],)
    q = "trees osbs029"
    assert link_items(q, ["neon-OSBS_029", "neon-SOAP_061"], parse_dates(q, today=TODAY), change=False).items == (
        "neon-OSBS_029",
    )


SERIES = ("landsat-ucayali-1988", "landsat-ucayali-1996", "landsat-ucayali-2004", "landsat-ucayali-2012",
          "oscd-lyon-2016-03-02", "oscd-lyon-2018-09-14")  # fmt: skip


def _series(question: str) -> tuple[str, ...]:
    return link_items(question, SERIES + ITEMS, parse_dates(question, today=TODAY), change=True).items


def test_a_place_and_years_that_spell_a_series_id_link_to_its_epochs():
    assert _series("ucayali 1996 vs 2012 forest loss") == ("landsat-ucayali-1996", "landsat-ucayali-2012")
    assert _series("clearing between the first and the last ucayali images") == (SERIES[0], SERIES[3])


def test_years_alone_do_not_spell_a_dated_id_nor_the_surroundings_of_a_place():
    assert _series("lyon 2016 vs 2018 new buildings") == ()  # the ids also carry a month and a day
    assert _series("forest loss around ucayali 1996 vs 2012") == ()  # the surroundings: search, not the epochs


def test_collection_spellings_radar_polarisations_and_month_days_name_images():
    eolearn = ("eolearn-slovenia-S2_L1C_20150613", "eolearn-slovenia-S2_L1C_20150904", *ITEMS)
    assert link_items("ndvi eo-learn 04/09/2015", eolearn, parse_dates("ndvi eo-learn 04/09/2015", today=TODAY),
                      change=False).items == (eolearn[1],)  # fmt: skip
    assert link_items("clouds slovenia 0613", eolearn, DateInfo(), change=False).items == (eolearn[0],)
    assert _link("water on the VV/VH version of the spain chip").items == (ITEMS[11],)
    assert _link("new buildings on the rennes pair").items == ITEMS[7:9]  # a pair word: both dates


def test_site_codes_padded_numbers_and_one_side_of_a_pair_name_one_image():
    sites = ("neon-OSBS_029", "neon-SOAP_061", "neon-2018_SJER_3_252000_4107000_image_477", *ITEMS[3:7])
    none = DateInfo()
    assert link_items("arbres sur OSBS-029", sites, none, change=False).items == ("neon-OSBS_029",)
    assert link_items("dead trees on SOAP 61", sites, none, change=False).items == ("neon-SOAP_061",)
    assert link_items("tree count SJER", sites, none, change=False).items == (sites[2],)  # a site code alone
    assert link_items("buildings on levir test_2_0000_0512, after image", sites, none, change=True).items == (
        "levir-B-test_2_0000_0512",
    )
    assert link_items("test_2_0000_0000 A", sites, none, change=False).items == ("levir-A-test_2_0000_0000",)
    both = link_items("changes between test_2_0000_0000 A and B", sites, none, change=True).items
    assert both == ("levir-A-test_2_0000_0000", "levir-B-test_2_0000_0000")


def test_images_are_named_by_what_their_labels_say_they_show():
    ships = facts_of("dota-P0706", collection="dota", properties={"keywords": ["ship", "harbor", "harbour", "port"]})
    cars = facts_of("dota-P1888", collection="dota", properties={"keywords": ["small-vehicle", "vehicle", "car"]})
    bog = facts_of("ben-x_1", collection="ben", properties={"keywords": ["peatbogs", "water bodies"]})
    facts = {f.id: f for f in (ships, cars, bog)}
    items = (*facts, *ITEMS)
    none = DateInfo()
    assert link_items("bateaux sur l'image dota du port", items, none, change=False, facts=facts).items == (
        "dota-P0706",
    )
    assert link_items("cars in the dota parking picture", items, none, change=False, facts=facts).items == (
        "dota-P1888",
    )
    assert link_items("the peat bog patch", items, none, change=False, facts=facts).items == ("ben-x_1",)
    # a class phrase's words count once: "water bodies" does not outweigh the chip the question names
    named = link_items("how many water bodies in the Spain flood chip", items, none, change=False, facts=facts)
    assert named.items == (ITEMS[12],)


def test_one_image_of_a_place_held_twice_is_asked_back_and_exonyms_name_ids():
    cities = ("oscd-lyon-2016-03-01", "oscd-lyon-2018-09-14", "oscd-london-2016-05-02", "oscd-london-2019-04-30")
    items = (*ITEMS, *cities)
    u = understand("what does the lyon image show?", today=TODAY, known_items=items)
    assert u.asks == "image" and "oscd-lyon-2016-03-01" in (u.clarification or "")
    assert understand("urban growth in Lyon since 2016", today=TODAY, known_items=items).asks is None
    # "Londres" is London to the gazetteer, and London is what the ids spell
    u = understand("les deux images de Londres : nouveaux bâtiments ?", today=TODAY, known_items=items)
    assert u.item_refs == ("oscd-london-2016-05-02", "oscd-london-2019-04-30")


def test_a_place_and_the_day_of_an_image_name_it_without_an_image_word():
    day = facts_of("eolearn-x-S2_20190612", collection="eolearn", when=date(2019, 6, 12), bbox=(14.4, 46.0, 14.6, 46.1))
    other = facts_of(
        "eolearn-x-S2_20190701", collection="eolearn", when=date(2019, 7, 1), bbox=(14.4, 46.0, 14.6, 46.1)
    )
    facts = {f.id: f for f in (day, other)}
    u = understand("ndvi slovénie 12 juin 2019", today=TODAY, known_items=tuple(facts), item_facts=facts)
    assert u.item_refs == ("eolearn-x-S2_20190612",)
    u = understand("ndvi slovénie en juin 2019", today=TODAY, known_items=tuple(facts), item_facts=facts)
    assert u.item_refs == () and u.place  # a month is a window to search, not one image's day


def test_a_listing_of_a_dataset_lists_every_image_it_names():
    u = understand("got any naip tiles?", today=TODAY, known_items=ITEMS)
    assert u.intent == "find_imagery" and u.asks is None and u.item_refs == ITEMS[9:11]
