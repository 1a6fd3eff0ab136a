"""The offline planner reads "find places like this one" questions and calls find_similar with an example."""

from datetime import date
from typing import Any

import pytest

from geovigie.agent.offline.decisions import Clarify, Finish, ToolCall
from geovigie.agent.offline.playbooks import next_step
from geovigie.agent.offline.understanding import understand

TODAY = date(2025, 6, 15)
BBOX = [-2.5, 36.7, -2.3, 36.9]


def read(question: str):
    return understand(question, today=TODAY, place_finder=lambda _text: [])


@pytest.mark.parametrize(
    "question",
    [
        "Find other sites that look like this quarry near Almeria",
        "où trouve-t-on des serres comme celle-ci près de Almeria ?",
        "Show me places similar to this one around Almeria",
    ],
)
def test_similar_questions_pick_the_find_similar_playbook(question: str) -> None:
    u = read(question)
    assert u.intent == "find_similar" and not u.change


def test_a_flood_question_stays_a_flood_question() -> None:
    assert read("Was it flooded in Valencia like this in 2019?").intent == "water_flood"


@pytest.mark.parametrize(
    ("question", "across"),
    [("Find other sites that look like this quarry near Almeria", False),
     ("Find other sites that look like this quarry near Almeria, anywhere in the catalog", True)],
)  # fmt: skip
def test_the_example_is_the_centre_of_the_place_named(question: str, across: bool) -> None:
    u = read(question)
    history: list[dict[str, Any]] = []
    answers = [
        {"name": "Almeria", "lat": 36.8, "lon": -2.4, "bbox": BBOX, "ambiguous": False},
        {"items": [{"item_id": "s2", "datetime": "2024-06-01T10:30:00Z", "cloud_cover": 2.0, "gsd_m": 10.0,
                    "coverage_pct": 100.0}]},
        {"places": [{"rank": 1, "item_id": "s2", "lon": -2.35, "lat": 36.85, "score": 0.97}]},
    ]  # fmt: skip
    calls = []
    decision = next_step(u, history)
    for answer in answers:
        assert isinstance(decision, ToolCall), decision
        calls.append(decision)
        history.append({"tool": decision.tool, "args": decision.args, "ok": True, "output": {"result": answer}})
        decision = next_step(u, history)
    assert [c.tool for c in calls] == ["geocode", "search_imagery", "find_similar"]
    assert calls[2].args["item_id"] == "s2" and calls[2].args["bbox"] == BBOX
    assert calls[2].args["point"] == pytest.approx([-2.4, 36.8])
    assert calls[2].args.get("across_catalog", False) is across
    assert isinstance(decision, Finish)


@pytest.mark.parametrize(
    "question", ["Map forest vs fields from these points near Almeria", "carte forêt et champs à partir de ces points"]
)
def test_map_from_examples_questions_say_how_to_give_the_examples(question: str) -> None:
    u = read(question)
    assert u.intent == "map_examples"
    decision = next_step(u, [])
    assert isinstance(decision, Clarify) and "lat, lon" in decision.question
