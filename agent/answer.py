"""The structured answer of a turn: text, figures with provenance, artifacts, trace."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

from geovigie.agent.state import StepRecord

AnswerStatus = Literal["answered", "clarify", "abstain", "error"]


class FigureClaim(BaseModel):
    """A number in the answer and where it comes from."""

    name: str
    value: float
    unit: str
    uncertainty: str | None = None
    tool: str
    method: str
    item_ids: list[str]
    dates: list[str | None]
    crs: str | None = None
    pixel_size_m: float | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)


class TraceStep(BaseModel):
    """One tool call of the turn, for the trace."""

    tool: str
    args: dict[str, Any]
    ok: bool
    summary: str
    duration_s: float
    error_type: str | None = None


class Answer(BaseModel):
    """What a turn returns to the CLI, HTTP API and UI."""

    thread_id: str
    question: str
    language: str
    status: AnswerStatus
    text: str
    figures: list[FigureClaim] = Field(default_factory=list)
    provenance: list[dict[str, Any]] = Field(default_factory=list)
    artifacts: list[dict[str, Any]] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    trace: list[TraceStep] = Field(default_factory=list)
    planner: str = ""
    model_calls: int = 0
    stop_reason: str | None = None

    def provenance_complete(self) -> bool:
        """True when every figure names its scenes and their dates (or is scene-free, like geocoding)."""
        return all(all(d for d in f.dates) for f in self.figures if f.item_ids)


def _flatten(steps: list[StepRecord]) -> list[StepRecord]:
    """Steps with playbook runs expanded into the tool steps they ran (their figures carry the provenance)."""
    out: list[StepRecord] = []
    for step in steps:
        inner = (
            ((step.get("output") or {}).get("result") or {}).get("steps")
            if step.get("tool") == "run_playbook"
            else None
        )
        out.extend(_flatten(inner) if inner else [step])
    return out


def collect_evidence(steps: list[StepRecord]) -> tuple[list[FigureClaim], list[dict[str, Any]], list[dict[str, Any]]]:
    """Figures, provenance records and artifacts of successful steps, in order, de-duplicated."""
    figures: list[FigureClaim] = []
    provenance: list[dict[str, Any]] = []
    artifacts: list[dict[str, Any]] = []
    seen: set[str] = set()
    for step in _flatten(steps):
        out = step.get("output")
        if not step.get("ok") or not out:
            continue
        prov = out.get("provenance", {})
        provenance.append(prov)
        scenes = prov.get("scenes", [])
        for fig in out.get("figures", []):
            figures.append(
                FigureClaim(
                    name=fig["name"],
                    value=fig["value"],
                    unit=fig["unit"],
                    uncertainty=fig.get("uncertainty"),
                    tool=step["tool"],
                    method=prov.get("method", ""),
                    item_ids=[s["item_id"] for s in scenes],
                    dates=[s.get("datetime") for s in scenes],
                    crs=prov.get("crs"),
                    pixel_size_m=prov.get("pixel_size_m"),
                    parameters=prov.get("parameters", {}),
                )
            )
        for art in out.get("artifacts", []):
            if art["id"] not in seen:
                seen.add(art["id"])
                artifacts.append(art)
    return figures, provenance, artifacts


CONTEXT_TOOLS = frozenset({"geocode", "search_imagery"})
"""Tools whose figures locate and select data rather than answer (kept in provenance and trace)."""


def _number(value: float, unit: str) -> str:
    """A figure without exponent notation: areas in m² above 1 ha read in ha or km² (6.15 km², not 6.14799e+06)."""
    if unit in ("m2", "m²") and abs(value) >= 1e6:
        return f"{value / 1e6:.2f} km²"
    if unit in ("m2", "m²") and abs(value) >= 1e4:
        return f"{value / 1e4:.1f} ha"
    if float(value).is_integer():
        return f"{int(value)} {unit}"
    return f"{value:.3g} {unit}" if abs(value) < 1e3 else f"{value:.0f} {unit}"


def _uncertainty(text: str | None) -> str:
    """The uncertainty in brackets with one ± ("about ±9%" stays as the tool wrote it)."""
    if not text:
        return ""
    core = text.strip()
    return f" ({core})" if core.startswith("±") or "about" in core or "environ" in core else f" (±{core})"


def evidence_block(figures: list[FigureClaim], language: str) -> str:
    """A Markdown 'Sources' list: per tool run, its figures, scenes with dates, method, CRS and pixel size."""
    if not any(f.tool not in CONTEXT_TOOLS for f in figures):
        return ""
    title = "Sources et méthode" if language == "fr" else "Sources and method"
    groups: dict[tuple[str, str, tuple[str, ...]], list[FigureClaim]] = {}
    for fig in figures:
        if fig.tool in CONTEXT_TOOLS:
            continue
        groups.setdefault((fig.tool, fig.method, tuple(fig.item_ids)), []).append(fig)
    lines = [f"\n\n**{title}**"]
    for (tool, method, _ids), figs in groups.items():
        first = figs[0]
        values = "; ".join(f"{f.name} = {_number(f.value, f.unit)}" + _uncertainty(f.uncertainty) for f in figs)
        fr = language == "fr"
        undated = "date inconnue" if fr else "date unknown"
        scenes = ", ".join(f"{i} ({(d or undated)[:10]})" for i, d in zip(first.item_ids, first.dates, strict=False))
        na = "n.d." if fr else "n/a"
        px = f"{first.pixel_size_m:.2f} m" if first.pixel_size_m else na
        if fr:
            values, px = values.replace(".", ","), px.replace(".", ",")
        lines.append(f"- **{tool}**: {values}")
        lines.append(f"  - {'scènes' if fr else 'scenes'}: {scenes or '—'}; CRS {first.crs or na}; pixel {px}")
        lines.append(f"  - {'méthode' if fr else 'method'}: {method}")
    return "\n".join(lines)
