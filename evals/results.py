"""What a run produces: per-turn records, per-check scores, per-case results, per-suite summaries."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

Outcome = Literal["passed", "failed", "error", "timeout", "skipped"]


class Score(BaseModel):
    """One check of a case: its verdict (None = measured only), a value and the numbers behind it."""

    name: str
    passed: bool | None = None
    value: float | None = None
    detail: str = ""
    metrics: dict[str, float | None] = Field(default_factory=dict)
    turn: int = 0


class TurnRecord(BaseModel):
    """One turn as the agent answered it (the ``Answer``), with its cost."""

    question: str
    answer: dict[str, Any] | None = None
    latency_s: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    error: str | None = None


class CaseRun(BaseModel):
    """What the solver returns for a case: its turns, or the error that stopped it."""

    turns: list[TurnRecord] = Field(default_factory=list)
    error: str | None = None


class CaseResult(BaseModel):
    """A scored case."""

    suite: str
    case_id: str
    tags: list[str] = Field(default_factory=list)
    outcome: Outcome
    reason: str = ""
    """Why it failed, errored or was skipped (empty when passed)."""
    scores: list[Score] = Field(default_factory=list)
    turns: list[TurnRecord] = Field(default_factory=list)
    latency_s: float = 0.0
    model_calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0

    def score(self, name: str) -> Score | None:
        """The last score with this name, if any."""
        hits = [s for s in self.scores if s.name == name]
        return hits[-1] if hits else None

    def final_answer(self) -> dict[str, Any] | None:
        """The answer of the last turn."""
        return self.turns[-1].answer if self.turns else None


class SuiteSummary(BaseModel):
    """A suite of a run: where it came from, its data root, why it was skipped, its metrics."""

    name: str
    path: str
    data_root: str
    skipped_reason: str | None = None
    metrics: dict[str, Any] = Field(default_factory=dict)
    by_tag: dict[str, dict[str, Any]] = Field(default_factory=dict)


class RunReport(BaseModel):
    """A whole run."""

    run_id: str
    created_at: str
    commit: str
    planner: str
    endpoint: str | None = None
    jobs: int = 1
    duration_s: float = 0.0
    suites: list[SuiteSummary] = Field(default_factory=list)
    overall: dict[str, Any] = Field(default_factory=dict)
    cases: list[CaseResult] = Field(default_factory=list)
