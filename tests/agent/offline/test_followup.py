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


def test_a_reply_to_which_image_picks_by_rank_or_day():
    from geovigie.agent.offline.offered import choose_offered

    offered = ("eolearn-slovenia-S2_L1C_20150820", "eolearn-slovenia-S2_L1C_20150830")
    assert choose_offered("la première", offered) == (offered[0],)
    assert choose_offered("the later one", offered) == (offered[1],)
    assert choose_offered("celle du 30", offered) == (offered[1],)
    assert choose_offered("the 20th please", offered) == (offered[0],)
    assert choose_offered("the one from June", offered) == ()  # names neither


def test_a_reply_naming_a_nation_or_region_settles_a_homonym():
    state = DialogueState(task=understand("floods in Perth last winter", today=TODAY), asks="place",
                          options=("Perth (AU)", "Perth (GB)"))  # fmt: skip
    u = combine(understand("the scottish one", today=TODAY), state, ())
    assert (u.place, u.country) == ("Perth", "GB")


def test_the_result_of_the_last_analysis_is_asked_for_by_what_it_found():
    from geovigie.agent.offline.reuse import artifact_request

    def kind(q: str) -> str | None:
        return artifact_request(understand(q, today=TODAY))

    assert kind("export the flooded areas") == "polygons"
    assert kind("montre les navires détectés") == "polygons"
    assert kind("tu me donnes les superficies ?") == "figures"
    assert kind("et tu comptes combien de voitures ?") is None  # a new count, not a result


def test_a_follow_up_setting_the_image_against_another_compares_the_two():
    u = _turns("describe landsat-pucallpa-2010", "compare it with the 2000 one")
    assert u.item_refs == ("landsat-pucallpa-2000", "landsat-pucallpa-2010") and u.change


def test_one_of_two_dates_after_an_image_and_one_image_per_named_date():
    u = _turns("describe landsat-pucallpa-2020", "what changed since the 1985 one?")
    assert u.item_refs == ("landsat-pucallpa-1985", "landsat-pucallpa-2020") and u.change
    u = _turns("forest loss on the pucallpa images 1985 vs 2000", "do it again for 2010 to 2020")
    assert u.item_refs == ("landsat-pucallpa-2010", "landsat-pucallpa-2020")


def test_the_other_sensor_of_a_chip_and_one_of_two_images():
    known = ("sen1floods11-Bolivia_103757_S1Hand", "sen1floods11-Bolivia_103757_S2Hand", *KNOWN)
    state = DialogueState(
        task=understand("water on sen1floods11-Bolivia_103757_S2Hand", today=TODAY, known_items=known)
    )
    u = combine(understand("and with the sar?", today=TODAY, known_items=known), state, known)
    assert u.item_refs == ("sen1floods11-Bolivia_103757_S1Hand",) and u.intent == "water_flood"
    u = _turns("describe the rennes images", "the newer of the two, count buildings")
    assert u.item_refs == ("oscd-rennes-2017-06-21",)


def test_a_reply_naming_a_department_settles_a_homonym_the_options_missed():
    state = DialogueState(task=understand("land cover at Beaumont", today=TODAY), asks="place",
                          options=("Beaumont (US)", "Beaumont (BE)"))  # fmt: skip
    u = combine(understand("celle du Puy-de-Dôme", today=TODAY), state, ())
    assert (u.place, u.country) == ("Beaumont", "FR")


def test_a_result_asked_for_with_the_thread_s_own_place_or_dates_is_reused():
    from geovigie.agent.offline.reuse import artifact_request

    def kind(q: str, earlier: str = "") -> str | None:
        return artifact_request(understand(q, today=TODAY), earlier)

    earlier = "burn scars near Chamonix in August 2023 ? and what about Megève"
    assert kind("outline the burn scars for chamonix", earlier) == "polygons"
    assert kind("megève figures next to chamonix figures", earlier) == "figures"
    assert kind("the map for August 2023 please", earlier) == "map"
    assert kind("the map of Annecy", earlier) is None  # a place the thread never named: a new question
    assert kind("the map of Annecy") is None
    assert kind("fais-moi un compte rendu", earlier) == "report"
    assert kind("et le pourcentage ?", earlier) == "figures"
    assert kind("une carte de la Crau stp", "l'occupation du sol en Crau en 2024 ? et en 2020") == "map"


def test_a_measured_figure_asked_for_alone_or_now_is_the_last_result():
    from geovigie.agent.offline.reuse import artifact_request

    def kind(q: str) -> str | None:
        return artifact_request(understand(q, today=TODAY))

    assert kind("surface d'eau en % stp") == "figures"
    assert kind("and in hectares?") == "figures"
    assert kind("les deux comptes côte à côte") == "figures"
    assert kind("maintenant le pdf") == "report"  # "maintenant" is no new date
    assert kind("encadre les camions trouvés") == "polygons"
    assert kind("show me the new constructions") == "polygons"
    assert kind("the map of Lyon now") is None  # a place of its own


def test_a_reply_to_which_image_picks_by_ordinal_or_by_the_period_it_names():
    from datetime import date as _date

    from geovigie.agent.offline.offered import choose_offered
    from geovigie.agent.offline.periods import Period

    offered = ("oscd-x-2016-09-27", "oscd-x-2018-03-23", "oscd-x-2018-07-02")
    assert choose_offered("the third one", offered) == (offered[2],)
    assert choose_offered("la deuxième", offered) == (offered[1],)
    march = Period(_date(2018, 3, 1), _date(2018, 3, 31))
    assert choose_offered("march 2018 please", offered, march) == (offered[1],)
    year = Period(_date(2018, 1, 1), _date(2018, 12, 31))
    assert choose_offered("celle de 2018", offered, year) == ()  # two that year: ask again
    assert choose_offered("la dernière de 2018", offered, year) == (offered[2],)
    assert choose_offered("the tenth one", offered) == ()


def test_a_place_and_date_asking_nothing_of_them_repeat_the_task():
    u = _turns("vegetation health in the Drôme, june 2024", "Ardèche again but for june 2022")
    assert u.intent == "vegetation" and u.place == "Ardèche"
    u = _turns("ships in the port of Brest now", "what about 2020 at Lorient?")
    assert u.intent == "count_objects" and u.object == "ship" and u.place == "Lorient"
    assert _turns("water in the Camargue", "images of Camargue in may 2024").intent == "find_imagery"  # asked


def test_what_is_going_on_at_a_place_is_activity_and_in_an_image_a_description():
    assert understand("what's going on at the Fos terminals", today=TODAY).intent == "industrial_activity"
    assert understand("qu'est-ce qui se passe à Lavéra ?", today=TODAY).intent == "industrial_activity"
    assert understand("what's going on in the second Rennes image?", today=TODAY).intent == "describe"
    assert understand("Lyon a grignoté ses campagnes depuis 2015 ?", today=TODAY).intent == "urban_growth"


def test_an_ambiguous_place_in_a_follow_up_keeps_the_task_and_asks_only_which_place():
    u = _turns("combien de bateaux au port de Brest", "et à Dieppe ?")
    assert u.intent == "count_objects" and u.object == "ship" and u.place == "Dieppe"
    assert u.asks != "topic"


def test_a_site_that_grew_stays_the_site_and_a_town_that_grew_is_urban_growth():
    u = _turns("what's happening at the Antwerp container terminal", "did it get bigger, expanded since 2019?")
    assert u.intent == "industrial_activity" and u.change and "footprint" in u.flags
    u = _turns("activité sur la raffinerie de Donges", "elle s'est étendue depuis 2017 ?")
    assert u.intent == "industrial_activity" and u.change
    u = _turns("what's happening at the Antwerp terminal", "and has the town grown with new houses since 2019?")
    assert u.intent == "urban_growth"
