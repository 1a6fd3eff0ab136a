"""The stub world of a conversation: the single-question stub, reset per turn, with a small dated catalog.

A turn that expects the nearest available dates names the catalog's dates in its note; the world then holds
items only at those dates, as a real catalog does: a dated search whose window holds none of them finds nothing,
and an undated or wider search finds the dates it covers.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from pydantic import BaseModel, ConfigDict

from geovigie.evals.planner_accuracy import StubWorld


class StubPayload(BaseModel):
    """A stub tool's payload: whatever fields the stub world returns."""

    model_config = ConfigDict(extra="allow")


@dataclass
class DialogueWorld(StubWorld):
    """Stub tools for one conversation."""

    catalog_dates: list[date] = field(default_factory=list)
    search_log: list[bool] = field(default_factory=list)
    """Per search call of the current turn: whether it found any item."""

    def start_turn(self, world: Mapping[str, Any], note: str = "") -> None:
        """Reset for a new turn: its world and, when ``note`` names ISO dates, a catalog at those dates only."""
        self.world, self.searches, self.failed = dict(world), 0, set()
        self.catalog_dates = [date.fromisoformat(d) for d in re.findall(r"\d{4}-\d{2}-\d{2}", note)]
        self.search_log = []

    def _search_imagery(self, args: Mapping[str, Any]) -> dict[str, Any]:
        if not self.catalog_dates or args.get("item_ids"):
            result = super()._search_imagery(args)
        else:
            self.searches += 1
            start = date.fromisoformat(str(args["start"])[:10]) if args.get("start") else date.min
            end = date.fromisoformat(str(args["end"])[:10]) if args.get("end") else date.max
            days = [d for d in self.catalog_dates if start <= d <= end]
            result = {"items": [
                {"item_id": f"stub-catalog-{d.isoformat()}", "datetime": f"{d.isoformat()}T10:30:00Z",
                 "collection": "sentinel-2-l2a", "gsd_m": 10.0, "cloud_cover": 2.0, "coverage_pct": 100.0,
                 "bands": ["B02", "B03", "B04", "B08"]}
                for d in days
            ]}  # fmt: skip
        self.search_log.append(bool(result["items"]))
        return result
