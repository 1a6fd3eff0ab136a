"""Questions through the offline agent: an empty local catalog and only the replica's STAC API set answer with
the figures the local OSCD sample gives (see conftest.py for the replica)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from geovigie.agent.runner import build_agent
from geovigie.core.settings import Settings
from geovigie.tools.base import ToolContext
from geovigie.tools.catalog import ingest_paths

pytestmark = pytest.mark.slow

SAME = [
    ("How much water is there in Bordeaux on 4 May 2016?", "How much water is there in Bordeaux on 4 May 2016?",
     ("water area", "water share of clear AOI")),
    ("What is the land cover of Bordeaux on 4 May 2016?", "What is the land cover of Bordeaux on 4 May 2016?",
     ("built-up share of clear AOI", "grass / low vegetation share of clear AOI", "water share of clear AOI")),
    # the 2023 replica item holds the 2017 pixels stored with the baseline >= 04.00 offset (+1000 DN)
    ("How much has Bordeaux urbanised between 4 May 2016 and 26 October 2017?",
     "How much has Bordeaux urbanised between 4 May 2016 and 26 October 2023?",
     ("built-up area", "built-up share of clear AOI")),
]  # fmt: skip


def _settings(home: Path, **extra: Any) -> Settings:
    return Settings(home=home, _env_file=None, **extra)  # type: ignore[call-arg]


def _remote(replica: Any, home: Path) -> tuple[Settings, ToolContext]:
    settings = _settings(home, stac_api_urls=[replica.earth_search], stac_asset_hosts=[replica.cogs.host])
    return settings, ToolContext.from_settings(settings)


def _figures(answer: Any) -> dict[str, float]:
    return {f.name: f.value for f in answer.figures if f.tool != "search_imagery"}


@pytest.mark.parametrize(("local_q", "remote_q", "names"), SAME)
def test_questions_match_the_local_sample(
    replica: Any, data_dir: Path, tmp_path: Path, local_q: str, remote_q: str, names: tuple[str, ...]
) -> None:
    local_settings = _settings(tmp_path / "local")
    local_ctx = ToolContext.from_settings(local_settings)
    ingest_paths([data_dir / "oscd" / "bordeaux"], local_ctx.db)
    local = build_agent(settings=local_settings, ctx=local_ctx).ask(local_q)
    remote_settings, remote_ctx = _remote(replica, tmp_path / "remote")
    remote = build_agent(settings=remote_settings, ctx=remote_ctx).ask(remote_q)
    assert local.status == remote.status == "answered", (local.text, remote.text)
    got, want = _figures(remote), _figures(local)
    for name in names:
        assert got[name] == pytest.approx(want[name], rel=0.03), (name, got[name], want[name])
    assert "/sentinel-2-l2a/" in remote.text


def test_cloud_question_is_screened_with_the_scl(replica: Any, tmp_path: Path) -> None:
    settings, ctx = _remote(replica, tmp_path / "remote")
    answer = build_agent(settings=settings, ctx=ctx).ask("What is the cloud cover over Bordeaux on 24 May 2016?")
    assert answer.status == "answered", answer.text
    # the whole synthetic cloud lies inside Bordeaux's box: its area is the disk drawn in the SCL
    assert _figures(answer)["cloud area"] == pytest.approx(replica.cloud_disk.area, rel=0.05)
    assert "SCL" in answer.text
