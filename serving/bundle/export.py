"""Export a thread, or one of its turns, as an answer bundle: STAC of inputs and outputs plus ``run.json``.

Layout of a bundle folder (or of the zip holding it)::

    collection.json              STAC Collection, self-contained (relative links)
    <item id>/<item id>.json     one Item per input scene (assets checksummed) and per output file
    outputs/<artifact id>        the output files (COG masks, GeoJSON, PNGs)
    run.json                     tool calls, arguments, thresholds, models, code version, figures
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pystac
from dateutil.parser import isoparse
from sqlalchemy import select

from geovigie.agent.answer import Answer
from geovigie.core.db.models import CatalogItem
from geovigie.core.db.store import Database
from geovigie.core.errors import NoDataError, ToolInputError
from geovigie.core.settings import Settings
from geovigie.serving.api.recorder import thread_record
from geovigie.serving.bundle.record import REPLAY_KEY, code_version, input_item_ids
from geovigie.serving.bundle.stac import build_collection, input_item, output_item, save_collection, validate_folder

BUNDLE_FORMAT = 1
RUN_FILE = "run.json"
OUTPUTS_DIR = "outputs"


def parse_target(ref: str) -> tuple[str, int | None]:
    """``THREAD`` (every answered turn) or ``THREAD:N`` (its N-th answered turn, from 1)."""
    thread_id, _, turn = ref.strip().partition(":")
    if not turn:
        return thread_id, None
    if not turn.isdigit() or int(turn) < 1:
        raise ToolInputError(f"Bad turn {turn!r} in {ref!r}.", hint="Write THREAD_ID or THREAD_ID:N with N >= 1.")
    return thread_id, int(turn)


def _turns(record: dict[str, Any], turn: int | None) -> list[tuple[int, dict[str, Any], str]]:
    answered = [
        (n, m["payload"], m["created_at"])
        for n, m in enumerate((m for m in record["messages"] if m["role"] == "assistant"), start=1)
        if m.get("payload")
    ]
    chosen = [t for t in answered if turn is None or t[0] == turn]
    if not chosen:
        which = f"turn {turn}" if turn else "an answered turn"
        raise NoDataError(
            f"Thread {record['id']!r} has no {which} ({len(answered)} answered).",
            hint="List the thread with GET /v1/threads/{id} and pick THREAD_ID:N.",
        )
    return chosen


def _snapshot_now(db: Database, answer: Answer) -> dict[str, Any]:
    # Turns recorded before replay records existed: the catalog as it is now stands in for it (said in notes).
    ids = input_item_ids(answer)
    with db.session() as session:
        rows = {r.id: r for r in session.scalars(select(CatalogItem).where(CatalogItem.id.in_(ids)))}
    return {
        "version": 0,
        "code_version": None,
        "inputs": {
            i: {"stac": rows[i].stac, "fingerprint": rows[i].fingerprint} if i in rows else {"stac": None} for i in ids
        },
    }


def _current_fingerprints(db: Database, ids: list[str]) -> dict[str, str]:
    with db.session() as session:
        rows = session.execute(select(CatalogItem.id, CatalogItem.fingerprint).where(CatalogItem.id.in_(ids))).all()
    return {row[0]: row[1] for row in rows}


def _models(provenance: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Model names, cards and versions named in provenance (learned models record them in their parameters)."""
    found: list[dict[str, Any]] = []
    for prov in provenance:
        params = prov.get("parameters") or {}
        named = {k: v for k, v in params.items() if any(w in k for w in ("model", "weights", "card")) and v}
        if named:
            found.append({"tool": prov.get("tool"), "method": prov.get("method"), **named})
    return found


def _turn_entry(n: int, answer: Answer, created: str, replay: dict[str, Any], copied: dict[str, str]) -> dict[str, Any]:
    return {
        "thread_id": answer.thread_id,
        "turn": n,
        "created_at": created,
        "question": answer.question,
        "language": answer.language,
        "status": answer.status,
        "planner": answer.planner,
        "text": answer.text,
        "code_version_at_turn": replay.get("code_version"),
        "calls": [s.model_dump(mode="json") for s in answer.trace],
        "thresholds": [
            {"tool": p.get("tool"), "method": p.get("method"), "parameters": p.get("parameters", {})}
            for p in answer.provenance
        ],
        "provenance": answer.provenance,
        "models": _models(answer.provenance),
        "figures": [f.model_dump(mode="json") for f in answer.figures],
        "artifacts": [{**a, "path": copied.get(a["id"])} for a in answer.artifacts],
        "notes": answer.notes,
    }


def _artifact_file(art: dict[str, Any], artifacts_dir: Path) -> Path | None:
    for candidate in (Path(str(art.get("path", ""))), artifacts_dir / str(art["id"])):
        if candidate.is_file():
            return candidate
    return None


def write_bundle(db: Database, settings: Settings, ref: str, folder: Path) -> dict[str, Any]:
    """Write the bundle of ``ref`` (``THREAD`` or ``THREAD:N``) into an empty or new ``folder``.

    Returns:
        The ``run.json`` content.

    Raises:
        NoDataError: no such thread or turn.
    """
    thread_id, turn = parse_target(ref)
    record = thread_record(db, thread_id)
    if record is None:
        raise NoDataError(
            f"No thread {thread_id!r}.",
            hint="Use the thread id that `geovigie ask` prints, or one from GET /v1/threads.",
        )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / OUTPUTS_DIR).mkdir(exist_ok=True)
    notes: list[str] = []
    turns: list[dict[str, Any]] = []
    inputs: dict[str, dict[str, Any]] = {}
    outputs: list[pystac.Item] = []
    for n, payload, created in _turns(record, turn):
        answer = Answer.model_validate(payload)
        replay = payload.get(REPLAY_KEY) or _snapshot_now(db, answer)
        if not payload.get(REPLAY_KEY):
            notes.append(f"turn {n} was recorded without a replay record: inputs are the catalog's items at export")
        when = isoparse(created) if created else datetime.now(UTC)
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        for item_id, entry in replay["inputs"].items():
            inputs.setdefault(item_id, {**entry, "when": when})
        copied: dict[str, str] = {}
        for art in answer.artifacts:
            source = _artifact_file(art, settings.resolved_artifacts_dir)
            if source is None:
                notes.append(f"artifact {art['id']} of turn {n} is no longer in the store: not bundled")
                continue
            target = folder / OUTPUTS_DIR / str(art["id"])
            shutil.copyfile(source, target)
            copied[art["id"]] = f"{OUTPUTS_DIR}/{art['id']}"
            if not any(o.id == f"output-{target.stem}" for o in outputs):
                outputs.append(output_item(art, target, when=when, turn=n))
        turns.append(_turn_entry(n, answer, created, replay, copied))
    now_prints = _current_fingerprints(db, list(inputs))
    input_items, input_meta = [], {}
    for item_id, entry in inputs.items():
        if entry.get("stac") is None:
            notes.append(f"input {item_id} was not in the local catalog when the turn ran: no STAC item bundled")
            continue
        item, item_notes = input_item(entry["stac"], data_dir=settings.data_dir, fallback_time=entry["when"])
        notes += item_notes
        changed = entry.get("fingerprint") and now_prints.get(item_id) not in (None, entry["fingerprint"])
        if changed:
            notes.append(f"the files of {item_id} changed since the turn ran (catalog fingerprint differs)")
        input_items.append(item)
        input_meta[item_id] = {
            "fingerprint_at_turn": entry.get("fingerprint"),
            "fingerprint_at_export": now_prints.get(item_id),
            "assets": {
                k: {f: a.extra_fields.get(f"geovigie:{f}") for f in ("sha256", "size", "data_relpath")}
                | {"href": a.href}
                for k, a in item.assets.items()
            },
        }
    bundle_id = f"geovigie-{thread_id}" + (f"-turn{turn}" if turn else "")
    description = f"GeoVigie answer bundle: {record.get('title') or thread_id}"
    collection = build_collection(bundle_id, description, [*input_items, *outputs])
    save_collection(collection, folder, outputs)
    run: dict[str, Any] = {
        "geovigie_bundle": BUNDLE_FORMAT,
        "id": bundle_id,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "code_version": code_version(),
        "thread_id": thread_id,
        "turns": turns,
        "inputs": input_meta,
        "stac_validation": validate_folder(folder),
        "notes": notes,
    }
    (folder / RUN_FILE).write_text(json.dumps(run, indent=2, ensure_ascii=False), encoding="utf-8")
    return run


def export_bundle(db: Database, settings: Settings, ref: str, dest: Path) -> Path:
    """Export to a folder, or to a zip when ``dest`` ends with ``.zip``; returns what was written."""
    if dest.suffix.lower() != ".zip":
        write_bundle(db, settings, ref, dest)
        return dest
    with tempfile.TemporaryDirectory(prefix="geovigie-bundle-") as tmp:
        write_bundle(db, settings, ref, Path(tmp) / "bundle")
        dest.parent.mkdir(parents=True, exist_ok=True)
        archive = shutil.make_archive(str(dest.with_suffix("")), "zip", root_dir=Path(tmp) / "bundle")
    return Path(archive)


def export_latest(db: Database, settings: Settings, thread_id: str, out_dir: Path) -> Path | None:
    """Zip of the bundle of a thread's latest answered turn in ``out_dir`` (the chat's download); None if none."""
    record = thread_record(db, thread_id)
    if record is None:
        return None
    answered = [m for m in record["messages"] if m["role"] == "assistant" and m.get("payload")]
    if not answered:
        return None
    turn = len(answered)
    return export_bundle(
        db, settings, f"{thread_id}:{turn}", out_dir / f"geovigie-bundle-{thread_id[:8]}-turn{turn}.zip"
    )
