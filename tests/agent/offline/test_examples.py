"""Labelled examples in the offline planner: read from the question, attached by the map or the API, kept by the thread.

The last tests run whole turns on the Sen1Floods11 sample (skipped without it): the class map's figures are the
tool's own, the answer is in the question's language, and examples sent with one turn serve the next.
"""

from __future__ import annotations

from datetime import date

import pytest
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

from geovigie.agent.offline.decisions import Clarify, ToolCall
from geovigie.agent.offline.dialogue import task_from_dict, task_to_dict
from geovigie.agent.offline.examples import (
    coerce_examples,
    example_args,
    examples_bbox,
    last_images,
    read_examples,
    turn_examples,
)
from geovigie.agent.offline.playbooks import next_step
from geovigie.agent.offline.understanding import understand

TODAY = date(2026, 11, 25)
S2 = "sen1floods11-Spain_7370579_S2Hand"


def read(question: str, known: tuple[str, ...] = ()):
    return understand(question, today=TODAY, known_items=known, place_finder=lambda _text: [])


def test_english_examples_inherit_their_class_and_the_image_is_the_one_named() -> None:
    u = read("map water vs land on S2A_MSIL2A_20240601: water at 43.52,4.98 and 43.51,4.97; land at 43.60,5.10")
    assert u.intent == "map_examples" and u.item_refs == ("S2A_MSIL2A_20240601",)
    assert example_args(u.examples) == [
        {"label": "water", "point": [4.98, 43.52]}, {"label": "water", "point": [4.97, 43.51]},
        {"label": "land", "point": [5.10, 43.60]},
    ]  # fmt: skip
    assert u.point is None and u.place is None and u.clarification is None
    # the area mapped: the examples' extent with a margin
    w, s, e, n = u.bbox or (0, 0, 0, 0)
    assert w < 4.97 and e > 5.10 and s < 43.51 and n > 43.60 and (e - w) < 0.2


def test_french_examples_without_at_and_a_box_example() -> None:
    u = read(f"cartographie forêt et champs sur {S2} : forêt 48.1,-1.6 ; champs 48.2,-1.5 48.21,-1.52", (S2,))
    assert u.intent == "map_examples" and u.language == "fr" and u.item_refs == (S2,)
    assert [(e[0], e[2]) for e in u.examples] == [("forêt", (-1.6, 48.1)), ("champs", (-1.5, 48.2)),
                                                  ("champs", (-1.52, 48.21))]  # fmt: skip
    boxed = read("map crops vs bare soil: crops [-1.61, 48.09, -1.60, 48.10]; bare soil at 48.2, -1.55")
    assert boxed.examples[0] == ("crops", "box", (-1.61, 48.09, -1.60, 48.10))
    assert boxed.examples[1][0] == "bare soil"


def test_a_box_after_bbox_is_the_area_not_an_example() -> None:
    u = read("map crops vs meadows in bbox [-1.7, 48.0, -1.5, 48.3]: crops 48.1,-1.6; meadows 48.2,-1.55")
    assert u.bbox == (-1.7, 48.0, -1.5, 48.3) and [e[0] for e in u.examples] == ["crops", "meadows"]


@pytest.mark.parametrize(
    "question", ["Flood extent at 43.52, 4.98 in October 2024?", "Occupation du sol autour de 45.87 N, 14.56 E ?"]
)
def test_coordinates_of_other_questions_stay_the_point_asked_about(question: str) -> None:
    u = read(question)
    assert u.intent != "map_examples" and not u.examples and u.point is not None


def test_one_class_or_no_examples_get_a_question_in_the_users_language() -> None:
    one = next_step(read("map forest from these points: forest 48.1,-1.6 and 48.11,-1.61"), [])
    assert isinstance(one, Clarify) and "forest" in one.question and "two" in one.question
    none = next_step(read("cartographie les serres et les champs à partir de ces points"), [])
    assert isinstance(none, Clarify) and "serres" in none.question and "carte" in none.question
    assert "lat, lon" in none.question


def test_examples_become_the_map_from_examples_call() -> None:
    u = read(f"map water vs land on {S2}: water at 38.10074,-0.77772; land at 38.12751,-0.77574", (S2,))
    call = next_step(u, [])
    assert isinstance(call, ToolCall) and call.tool == "map_from_examples"
    assert call.args["item_id"] == S2 and call.args["bbox"] == list(u.bbox or ())
    assert call.args["examples"] == [{"label": "water", "point": [-0.77772, 38.10074]},
                                     {"label": "land", "point": [-0.77574, 38.12751]}]  # fmt: skip


def test_the_dialogue_state_keeps_the_examples() -> None:
    u = read("map water vs land: water at 38.10074,-0.77772; land at 38.12751,-0.77574")
    back = task_from_dict(task_to_dict(u))
    assert back is not None and back.examples == u.examples


def test_attached_examples_and_the_image_of_the_last_turn() -> None:
    fresh = read("map greenhouses vs fields from my points")
    attached = coerce_examples([
        {"label": "greenhouses", "point": [-2.40, 36.80]}, {"label": "fields", "box": [-2.41, 36.81, -2.40, 36.82]},
        {"label": "bad", "point": [500, 1]}, {"point": [1, 2]}, "x",
    ])  # fmt: skip
    assert [e[0] for e in attached] == ["greenhouses", "fields"]
    ring = [[-2.41, 36.81], [-2.40, 36.81], [-2.40, 36.83], [-2.41, 36.81]]
    polygon = coerce_examples([{"label": "pond", "polygon": {"type": "Polygon", "coordinates": [ring]}}])
    assert polygon == (("pond", "box", (-2.41, 36.81, -2.40, 36.83)),)  # kept as its bounding box
    record = {"tool": "quicklook", "args": {"item_id": "s2"}, "ok": True}
    earlier = [
        HumanMessage("show me the s2 image"),
        AIMessage("", tool_calls=[{"name": "quicklook", "args": {"item_id": "s2"}, "id": "c1"}]),
        ToolMessage("ok", tool_call_id="c1", artifact=record),
    ]
    current = HumanMessage(fresh.question, additional_kwargs={"geovigie": {"examples": example_args(attached)}})
    covered = turn_examples(fresh, fresh, current, None, earlier, lambda item, bbox: item == "s2" and bbox[0] > -3)
    assert covered.examples == attached and covered.item_refs == ("s2",) and covered.clarification is None
    assert covered.bbox == examples_bbox(attached)
    outside = turn_examples(fresh, fresh, current, None, earlier, lambda item, bbox: False)
    assert outside.item_refs == ()  # the catalog search over the examples' extent picks the scene
    call = next_step(outside, [])
    assert isinstance(call, ToolCall) and call.tool == "search_imagery" and call.args["bbox"] == list(outside.bbox)
    assert last_images([{"tool": "search_imagery", "args": {"item_ids": ["z"]}, "ok": True}]) == []


def test_declared_classes_are_read_without_examples() -> None:
    assert read_examples("map greenhouses vs fields from my points").classes == ("greenhouses", "fields")
    assert read_examples("classify greenhouses from these examples").classes == ("greenhouses",)


# --- whole turns on the sample data -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory):
    from geovigie.agent.offline.model import OfflinePlanner
    from geovigie.agent.runner import build_agent, sqlite_checkpointer
    from geovigie.core.settings import Settings
    from geovigie.tools.base import ToolContext
    from geovigie.tools.catalog.ingest import ingest_paths

    root = Settings().data_dir
    if not root.is_dir():
        pytest.skip(f"sample data not found at {root} (set GEOVIGIE_DATA_DIR)")
    settings = Settings(home=tmp_path_factory.mktemp("examples"), stac_api_urls=[], _env_file=None)  # type: ignore[call-arg]
    ctx = ToolContext.from_settings(settings)
    ingest_paths([root / "sen1floods11_sample"], ctx.db)
    planner = OfflinePlanner(ctx=ctx, today=lambda: TODAY)
    built = build_agent(settings=settings, ctx=ctx, model=planner, planner_name="offline",
                        checkpointer=sqlite_checkpointer(settings))  # fmt: skip
    return built, ctx


# A 0.004° box (about 40 x 45 pixels): Presto itself runs on it in a few seconds on two cores.
BOX = "[-0.7795, 38.0995, -0.7755, 38.1035]"
WATER, LAND = (38.10074, -0.77772), (38.10251, -0.77574)


def test_a_typed_question_maps_the_classes_with_the_tools_figures(agent) -> None:
    built, ctx = agent
    question = (f"map water vs land on {S2} in bbox {BOX}: water at {WATER[0]},{WATER[1]} and 38.1004,-0.7771; "
                f"land at {LAND[0]},{LAND[1]} and 38.1030,-0.7760")  # fmt: skip
    answer = built.ask(question, thread_id="typed")
    assert answer.status == "answered" and answer.language == "en"
    step = next(s for s in answer.trace if s.tool == "map_from_examples")
    assert step.ok and step.args["item_id"] == S2 and len(step.args["examples"]) == 4
    from geovigie.tools.registry import TOOLS

    direct = TOOLS["map_from_examples"].run(step.args, ctx).result
    water = next(c for c in direct.classes if c.label == "water")
    shown = next(f for f in answer.figures if f.name == "water area")
    assert shown.value == pytest.approx(water.area_m2, rel=1e-3)
    assert "raw bands" in answer.text and "confidence" in answer.text and "water" in answer.text.split("\n")[0]
    assert any(a["kind"] == "png" and a.get("legend") for a in answer.artifacts)


def test_examples_sent_with_a_turn_serve_the_next_one_in_french(agent) -> None:
    built, _ = agent
    points = [{"label": "eau", "point": [WATER[1], WATER[0]]}, {"label": "terre", "point": [LAND[1], LAND[0]]}]
    first = built.ask(f"montre-moi {S2}", thread_id="fr", examples=points)
    assert first.status == "answered" and not any(s.tool == "map_from_examples" for s in first.trace)
    answer = built.ask(f"carte eau et terre à partir de mes points dans la zone {BOX}", thread_id="fr")
    step = next(s for s in answer.trace if s.tool == "map_from_examples")
    assert step.args["examples"] == points and step.args["item_id"] == S2
    assert (
        answer.language == "fr"
        and answer.text.startswith("Carte à partir des exemples")
        and "bandes brutes" in answer.text
    )
