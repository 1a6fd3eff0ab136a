from geovigie.agent.offline.scene_choice import choose, choose_across, choose_pair, compatible, normalise, usable


def item(i, day, cloud=5.0, gsd=10.0, coverage=1.0):
    return {"id": f"s{i}", "datetime": f"{day}T10:00:00Z", "cloud_cover": cloud, "gsd": gsd, "coverage": coverage}


ITEMS = [item(1, "2020-01-10", 20), item(2, "2020-03-05", 2), item(3, "2020-06-20", 8), item(4, "2020-09-01", 90)]


def test_policies():
    assert choose(ITEMS, policy="clearest", max_cloud=30, max_gsd=None).items[0]["id"] == "s2"
    assert choose(ITEMS, policy="latest", max_cloud=30, max_gsd=None).items[0]["id"] == "s3"
    assert choose(ITEMS, policy="earliest", max_cloud=30, max_gsd=None).items[0]["id"] == "s1"
    assert choose(ITEMS, policy="latest", max_cloud=None, max_gsd=None).items[0]["id"] == "s4"


def test_pair_is_earliest_and_latest_usable():
    choice = choose_pair(ITEMS, max_cloud=30, max_gsd=None)
    assert [i["id"] for i in choice.items] == ["s1", "s3"]


def test_pair_needs_two_days():
    choice = choose_pair([item(1, "2020-01-10"), item(2, "2020-01-10")], max_cloud=30, max_gsd=None)
    assert choice.problem == "one_date"


def test_problems_in_actionable_order():
    assert usable([], max_cloud=30, max_gsd=None)[1] == "no_data"
    assert usable([item(1, "2020-01-01", coverage=0.05)], max_cloud=30, max_gsd=None)[1] == "partial"
    assert usable([item(1, "2020-01-01", cloud=80)], max_cloud=30, max_gsd=None)[1] == "too_cloudy"
    ok, problem, detail = usable([item(1, "2020-01-01", gsd=10), item(2, "2020-02-01", gsd=3)], max_cloud=30, max_gsd=1)
    assert problem == "too_coarse" and detail["gsd"] == 3 and detail["n"] == 2 and not ok


def test_search_imagery_field_names_are_accepted():
    found = {"item_id": "x", "datetime": "2020-01-01", "gsd_m": 0.5, "coverage_pct": 80.0, "cloud_cover": 1.0}
    n = normalise(found)
    assert (n["id"], n["gsd"], n["coverage"]) == ("x", 0.5, 0.8)
    assert choose([found], policy="latest", max_cloud=10, max_gsd=1).items[0]["id"] == "x"


def test_radar_and_optical_scenes_are_not_compared():
    s1 = {**item(1, "2019-09-10"), "bands": ["vv", "vh"]}
    s2_old = {**item(2, "2019-08-01"), "bands": ["red", "green", "nir"]}
    s2_new = {**item(3, "2019-09-18"), "bands": ["red", "green", "nir", "swir16"]}
    assert not compatible(s1, s2_new) and compatible(s2_old, s2_new)
    choice = choose_across([s1, s2_old], [s2_new], policies=("latest", "earliest"), max_cloud=30, max_gsd=None)
    assert [i["id"] for i in choice.items] == ["s2", "s3"]  # the later radar scene is skipped
    assert choose_across([s1], [s2_new], policies=("latest", "earliest"), max_cloud=30, max_gsd=None).problem == (
        "incompatible"
    )
    assert choose_pair([s1, s2_new], max_cloud=30, max_gsd=None).problem == "incompatible"


def test_collections_decide_when_bands_are_unknown():
    a = {**item(1, "2020-01-01"), "collection": "landsat"}
    assert compatible(a, {**item(2, "2021-01-01"), "collection": "landsat"})
    assert not compatible(a, {**item(3, "2021-01-01"), "collection": "sentinel-2"})
    assert compatible(item(4, "2020-01-01"), item(5, "2021-01-01"))


def test_side_of_the_problem_is_reported():
    choice = choose_across([item(1, "2020-01-01")], [], policies=("latest", "earliest"), max_cloud=30, max_gsd=None)
    assert choice.problem == "no_data" and choice.detail["side"] == 1.0


def test_scene_covering_too_little_of_the_area():
    ok, problem, detail = usable([item(1, "2020-01-01", coverage=0.05)], max_cloud=30, max_gsd=None)
    assert problem == "partial" and detail["coverage"] == 0.05
