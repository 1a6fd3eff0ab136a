"""The human message of a turn with labelled examples: metadata for the offline planner, text for an LLM."""

from __future__ import annotations

import json

from geovigie.agent.runner import human_with_examples

POINTS = [{"label": "water", "point": [-0.77772, 38.10074]}, {"label": "land", "point": [-0.77574, 38.12751]}]


def test_the_offline_planner_reads_examples_from_the_metadata_and_the_question_stays_as_typed() -> None:
    message = human_with_examples("map water vs land from my points", POINTS, offline=True)
    assert message.content == "map water vs land from my points"
    assert message.additional_kwargs["geovigie"]["examples"] == POINTS


def test_an_llm_sees_the_examples_in_the_text_as_the_tool_argument() -> None:
    message = human_with_examples("map water vs land from my points", POINTS, offline=False)
    text = str(message.content)
    assert text.startswith("map water vs land from my points") and "map_from_examples" in text
    assert json.loads(text[text.index("[") :]) == POINTS
    assert message.additional_kwargs["geovigie"]["examples"] == POINTS
