"""What replay needs that the answer alone does not say, recorded when the turn is recorded.

The answer already keeps each tool call's exact arguments (its trace), figures and provenance. Added here, under
the assistant message's payload key ``replay``: the STAC item of every input scene as the catalog held it when
the turn ran (asset hrefs included) with the catalog's fingerprint of its files (paths, sizes, modification
times), and the code version. Byte checksums are taken at export, and the fingerprint tells whether the files
changed in between.
"""

from __future__ import annotations

import subprocess
from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from geovigie.agent.answer import Answer
from geovigie.core.db.models import CatalogItem

REPLAY_KEY = "replay"
"""Key of the replay record in an assistant message's payload."""


@lru_cache(maxsize=1)
def code_version() -> dict[str, str | None]:
    """The package version and, in a git checkout, the commit (with ``+dirty`` when files are modified)."""
    try:
        package = version("geovigie")
    except PackageNotFoundError:
        package = None
    root = Path(__file__).resolve().parents[2]
    commit: str | None = None
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "describe", "--always", "--dirty=+dirty", "--abbrev=40"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
        commit = (out.stdout.strip() or None) if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):  # no git, or not a checkout (installed wheel)
        commit = None
    return {"package": package, "git": commit}


def input_item_ids(answer: Answer) -> list[str]:
    """Ids of every scene named in the answer's provenance, first appearance first."""
    ids: dict[str, None] = {}
    for prov in answer.provenance:
        for scene in prov.get("scenes", []):
            if scene.get("item_id"):
                ids.setdefault(str(scene["item_id"]), None)
    return list(ids)


def replay_record(session: Session, answer: Answer) -> dict[str, Any]:
    """The replay record of a finished turn (read in the recorder's transaction).

    Scenes that are not in the local catalog (e.g. read straight from a remote API without being cached) are
    listed with ``stac: None``; export then says so instead of inventing an item.
    """
    inputs: dict[str, Any] = {}
    for item_id in input_item_ids(answer):
        row = session.get(CatalogItem, item_id)
        inputs[item_id] = (
            {"stac": row.stac, "fingerprint": row.fingerprint, "source_path": row.source_path}
            if row is not None
            else {"stac": None, "fingerprint": None, "source_path": None}
        )
    return {"version": 1, "code_version": code_version(), "inputs": inputs}
