from pathlib import Path

import pytest

from geovigie.core.settings import Settings


def test_env_prefix_and_url_list(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GEOVIGIE_HOME", str(tmp_path / "h"))
    monkeypatch.setenv("GEOVIGIE_STAC_API_URLS", "http://a.example/v1, http://b.example/v1")
    monkeypatch.setenv("GEOVIGIE_MAX_AOI_KM2", "123.5")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.home == tmp_path / "h"
    assert s.stac_api_urls == ["http://a.example/v1", "http://b.example/v1"]
    assert s.max_aoi_km2 == 123.5
    assert s.resolved_db_url == f"sqlite:///{(tmp_path / 'h' / 'geovigie.db').resolve()}"
    assert s.resolved_artifacts_dir == tmp_path / "h" / "artifacts"


def test_explicit_db_url_wins(tmp_path: Path) -> None:
    s = Settings(home=tmp_path, db_url="sqlite:///:memory:", _env_file=None)  # type: ignore[call-arg]
    assert s.resolved_db_url == "sqlite:///:memory:"
