"""The suite format: suites of cases, each a question (or a conversation) with data references and expectations.

A suite is a YAML (or JSON) file validated by :class:`Suite`; ``python -m geovigie.evals.schema OUT.json`` writes its
JSON schema (shipped as ``evals/suites/suite.schema.json`` for editors). Paths in a case are relative to the
data root (``--data-root``, else the suite's ``data_root`` relative to the suite file, else
``GEOVIGIE_DATA_DIR``), may be globs that match exactly one file, and are checked before the case runs: a
case whose data is absent is skipped with the missing path as its reason.

Expectation kinds (all optional, all scored when present; a case passes when every scored check passes):

* ``status``: answered / clarify / abstain / error (one or a list);
* ``tools``: expected tool calls with exact or tolerant argument matchers (see :data:`ArgExpect`), an exact
  call sequence, forbidden tools;
* ``answer``: numbers read from the answer's figures (name pattern, value, tolerance, unit conversion);
* ``choice``: categorical answer (the text contains one of ...); ``text``: must / must not contain;
* ``truth``: ground truth (label raster, boxes or a count) scored against the produced artifact.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Status = Literal["answered", "clarify", "abstain", "error"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- tool-call argument matchers -----------------------------------------------------------------------------


class Equals(_Strict):
    """Exact match (strings compared case- and accent-insensitively, numbers to 1e-6, lists element-wise)."""

    equals: Any


class Approx(_Strict):
    """A number within an absolute and/or relative tolerance."""

    approx: float
    abs: float = 0.0
    rel: float = 0.0


class BBoxIoU(_Strict):
    """A [west, south, east, north] box whose IoU with ``bbox`` is at least ``min_iou``."""

    bbox: tuple[float, float, float, float]
    min_iou: float = Field(0.5, ge=0, le=1)


class DateNear(_Strict):
    """An ISO date (or datetime) within ``days`` days of ``date``."""

    date: dt.date
    days: int = Field(0, ge=0)


class Contains(_Strict):
    """A string containing the text (case- and accent-insensitive), or a list containing the element."""

    contains: Any


class AnyOf(_Strict):
    """Equal to one of the values."""

    any_of: list[Any]


class Subset(_Strict):
    """A list holding at least these elements (any order)."""

    subset: list[Any]


class Regex(_Strict):
    """A string matching the regular expression (search, case-insensitive)."""

    regex: str


class Absent(_Strict):
    """The argument is missing or null (``absent: true``), or present and not null (``absent: false``)."""

    absent: bool


Matcher = Equals | Approx | BBoxIoU | DateNear | Contains | AnyOf | Subset | Regex | Absent
ArgExpect = Annotated[
    Matcher | str | int | float | bool | list[Any] | None,
    Field(description="A matcher object, or a plain value meaning 'equals'."),
]


class ToolCallExpect(_Strict):
    """One expected call: the tool, optionally its position, and argument matchers."""

    tool: str
    args: dict[str, ArgExpect] = Field(default_factory=dict)
    nth: int | None = Field(None, ge=0, description="Match only the nth call (0-based) of this tool.")
    index: int | None = Field(None, ge=0, description="Match only the call at this position of the whole trace.")


class ToolsExpect(_Strict):
    """Expected tool use (ThinkGeo / Earth-Bench style)."""

    calls: list[ToolCallExpect] = Field(default_factory=list)
    order: Literal["any", "in_order"] = "in_order"
    """How the ``calls`` list is checked: every tool present in any order, or as an ordered subsequence."""
    sequence: list[str] | None = None
    """The exact sequence of tool names called (``[]`` = no call at all)."""
    forbidden: list[str] = Field(default_factory=list)
    max_calls: int | None = Field(None, ge=0)


# --- answer expectations ------------------------------------------------------------------------------------


class NumericExpect(_Strict):
    """A number of the answer, read from ``Answer.figures``."""

    figure: str = Field(description="Regular expression matched (search, case-insensitive) on the figure name.")
    tool: str | None = None
    value: float
    unit: str | None = Field(None, description="Unit of ``value``; figures in another known unit are converted.")
    abs_tol: float = 0.0
    rel_tol: float = 0.0
    pick: Literal["first", "last"] = "last"


class ChoiceExpect(_Strict):
    """A categorical answer: the text names one of ``any_of`` and none of ``none_of`` (whole words)."""

    any_of: list[str]
    none_of: list[str] = Field(default_factory=list)


class TextExpect(_Strict):
    """Text that must or must not appear in the answer (case- and accent-insensitive substrings)."""

    must_contain: list[str] = Field(default_factory=list)
    must_not_contain: list[str] = Field(default_factory=list)


# --- ground truth --------------------------------------------------------------------------------------------


class Align(_Strict):
    """How a label's pixels relate to the world, when the label file itself is not georeferenced."""

    same_grid_as: str | None = Field(
        None, description="Path (data root relative, glob allowed) of a raster whose pixel grid the label shares."
    )
    same_grid_as_item: str | None = Field(None, description="Catalog item id whose native grid the label shares.")


class ArtifactSelector(_Strict):
    """Which artifact of the answer is scored (the last one matching)."""

    kind: str | None = None
    role: str | None = None
    title: str | None = Field(None, description="Regular expression on the artifact title.")


BoxFormat = Literal["csv", "voc", "dota", "geojson", "yolo"]


class BoxesRef(_Strict):
    """A file of labelled objects: csv (xmin,ymin,xmax,ymax columns), Pascal VOC xml, DOTA txt, GeoJSON, YOLO."""

    path: str
    format: BoxFormat
    classes: list[str] = Field(default_factory=list, description="Keep only these classes (empty = all).")


class TruthExpect(_Strict):
    """Ground truth against which the produced artifact (or count) is scored."""

    kind: Literal["mask", "classes", "count"]
    label: str | None = Field(None, description="Label raster (mask / classes).")
    boxes: BoxesRef | None = None
    count: int | None = Field(None, ge=0)
    align: Align = Field(default_factory=Align)
    positive: list[int] = Field(default_factory=lambda: [1], description="Label values of the positive class.")
    ignore: list[int] = Field(default_factory=list, description="Label values left out of the comparison.")
    predicted_positive: list[int] = Field(default_factory=lambda: [1], description="Artifact values counted positive.")
    predicted_ignore: list[int] = Field(default_factory=list, description="Artifact values left out (+ its nodata).")
    class_map: dict[int, int] = Field(default_factory=dict, description="classes: artifact code -> label code.")
    artifact: ArtifactSelector | None = None
    figure: str = Field("count$", description="count: regular expression of the figure holding the count.")
    min_iou: float | None = None
    min_f1: float | None = None
    min_accuracy: float | None = None
    max_abs_error: float | None = None
    max_rel_error: float | None = None

    @model_validator(mode="after")
    def _needs_reference(self) -> TruthExpect:
        if self.kind in ("mask", "classes") and not self.label:
            raise ValueError(f"truth kind {self.kind!r} needs a label raster")
        if self.kind == "classes" and not self.class_map:
            raise ValueError("truth kind 'classes' needs class_map (artifact code -> label code)")
        if self.kind == "count" and self.count is None and self.boxes is None:
            raise ValueError("truth kind 'count' needs count or boxes")
        return self

    def selector(self) -> ArtifactSelector:
        """The artifact to score, defaulting by kind (mask COG, or the GeoJSON of boxes for counts)."""
        if self.artifact is not None:
            return self.artifact
        if self.kind == "count":
            return ArtifactSelector(kind="geojson")
        return ArtifactSelector(kind="cog", role="mask")


class Expect(_Strict):
    """Everything checked on one turn's answer."""

    status: Status | list[Status] | None = None
    tools: ToolsExpect | None = None
    answer: NumericExpect | list[NumericExpect] | None = None
    choice: ChoiceExpect | None = None
    text: TextExpect | None = None
    truth: TruthExpect | None = None
    provenance: bool = Field(False, description="Require every numeric claim to name its scenes and dates.")
    max_latency_s: float | None = None

    def statuses(self) -> list[Status]:
        """The accepted statuses (empty = not checked)."""
        if self.status is None:
            return []
        return [self.status] if isinstance(self.status, str) else list(self.status)

    def numbers(self) -> list[NumericExpect]:
        """The numeric expectations as a list."""
        if self.answer is None:
            return []
        return [self.answer] if isinstance(self.answer, NumericExpect) else list(self.answer)

    def is_empty(self) -> bool:
        """True when nothing is checked."""
        return not (self.statuses() or self.tools or self.numbers() or self.choice or self.text or self.truth) and (
            not self.provenance and self.max_latency_s is None
        )


# --- cases and suites -----------------------------------------------------------------------------------------


class DataRef(_Strict):
    """Data a case needs: a path under the data root (ingested into the run's catalog) or a catalog item id."""

    path: str | None = None
    item: str | None = None
    pixel_size_m: float | None = Field(None, gt=0, description="Pixel size for ingesting non-georeferenced images.")
    ingest: bool = True

    @model_validator(mode="after")
    def _one_of(self) -> DataRef:
        if (self.path is None) == (self.item is None):
            raise ValueError("a data reference names exactly one of path or item")
        return self


class Turn(_Strict):
    """One user turn of a conversation and what its answer must satisfy."""

    question: str
    expect: Expect = Field(default_factory=Expect)


class Case(_Strict):
    """One evaluation case."""

    id: str = Field(pattern=r"^[\w.:/-]+$")
    question: str | None = None
    conversation: list[Turn] | None = None
    data: list[DataRef] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)
    expect: Expect = Field(default_factory=Expect)
    """Checked on the answer of the last turn."""
    today: dt.date | None = None
    """The offline planner's "today" (relative dates such as "since 2016"); defaults to the suite's."""
    timeout_s: float | None = Field(None, gt=0)
    known_items: list[str] = Field(default_factory=list)
    """Image ids the offline planner treats as known, in addition to the catalog's."""
    stub_tools: dict[str, Any] | None = None
    """Replace every tool by a deterministic stub (``geovigie.evals.planner_accuracy.StubWorld`` options): measures the
    planner alone. None = the real tools on the ingested data."""
    notes: str = ""

    @field_validator("data", mode="before")
    @classmethod
    def _paths_as_refs(cls, value: object) -> object:
        if isinstance(value, list):
            return [{"path": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _one_question(self) -> Case:
        if (self.question is None) == (self.conversation is None):
            raise ValueError(f"case {self.id}: give exactly one of question or conversation")
        if self.conversation is not None and not self.conversation:
            raise ValueError(f"case {self.id}: empty conversation")
        return self

    def turns(self) -> list[Turn]:
        """The user turns; the case-level ``expect`` joins the last turn's own."""
        turns = list(self.conversation or [Turn(question=self.question or "")])
        last = turns[-1]
        turns[-1] = Turn(question=last.question, expect=_merge(last.expect, self.expect))
        return turns


def _merge(a: Expect, b: Expect) -> Expect:
    """``b``'s fields override ``a``'s where set."""
    data = a.model_dump(exclude_unset=True)
    data.update(b.model_dump(exclude_unset=True))
    return Expect.model_validate(data)


class Defaults(_Strict):
    """Values applied to every case of a suite that does not set them."""

    tags: list[str] = Field(default_factory=list)
    today: dt.date | None = None
    timeout_s: float | None = Field(None, gt=0)


class Include(_Strict):
    """Cases read from another file (path relative to the suite file)."""

    path: str
    format: Literal["cases_jsonl", "planner_jsonl"] = "cases_jsonl"
    """``cases_jsonl``: one :class:`Case` per line; ``planner_jsonl``: the planner question set format."""
    tags: list[str] = Field(default_factory=list)
    limit: int | None = Field(None, ge=1)


class Suite(_Strict):
    """A named set of cases."""

    name: str = Field(pattern=r"^[\w.-]+$")
    description: str = ""
    version: str = "1"
    data_root: str | None = None
    """Default data root, relative to the suite file (``--data-root`` overrides it)."""
    requires: list[str] = Field(default_factory=list)
    """Data paths the whole suite needs: when one is absent every case is skipped with that reason."""
    seed: int = 0
    defaults: Defaults = Field(default_factory=Defaults)
    include: list[Include] = Field(default_factory=list)
    cases: list[Case] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_ids(self) -> Suite:
        seen: set[str] = set()
        for case in self.cases:
            if case.id in seen:
                raise ValueError(f"duplicate case id {case.id!r} in suite {self.name}")
            seen.add(case.id)
        return self


def json_schema() -> dict[str, Any]:
    """The JSON schema of a suite file."""
    schema = Suite.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "GeoVigie evaluation suite"
    return schema


def main(argv: list[str] | None = None) -> int:
    """Write the JSON schema to the given path (or print it)."""
    args = sys.argv[1:] if argv is None else argv
    text = json.dumps(json_schema(), indent=1, ensure_ascii=False) + "\n"
    if args:
        Path(args[0]).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
