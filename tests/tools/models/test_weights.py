import hashlib
from pathlib import Path

import pytest

from geovigie.core.settings import Settings
from geovigie.tools.models import (
    ModelCard,
    ModelFile,
    ModelUnavailableError,
    WeightsIntegrityError,
    availability,
    list_cards,
    resolve,
)

PAYLOAD = b"tiny weights " * 100


def _card(name: str = "tiny", url: str | None = None, size: int | None = len(PAYLOAD)) -> ModelCard:
    return ModelCard(
        name=name, title="Tiny", version="1", task="segmentation", classes=("x",), bands=("red",),
        pixel_size_m=(0.1, 1.0), normalisation="none", licence="MIT", restrictive=False, source="test",
        url="https://example.invalid", files=(ModelFile(name="tiny/w.bin", sha256=hashlib.sha256(PAYLOAD).hexdigest(),
                                                          size_bytes=size, url=url),),
    )  # fmt: skip


def _settings(tmp_path: Path, **kw) -> Settings:
    return Settings(home=tmp_path / "home", models_dir=tmp_path / "models", _env_file=None, **kw)  # type: ignore[call-arg]


def _write(root: Path, data: bytes) -> Path:
    path = root / "tiny" / "w.bin"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_found_in_models_dir_and_verified(tmp_path):
    path = _write(tmp_path / "models", PAYLOAD)
    [found] = resolve(_card(), _settings(tmp_path))
    assert found.path == path and found.source == "models_dir"
    state = availability(_card(), _settings(tmp_path))
    assert state.sha_ok is True and state.source == "models_dir"


def test_wrong_hash_and_truncated_file_are_clear_errors(tmp_path):
    _write(tmp_path / "models", PAYLOAD[:-1] + b"X")
    with pytest.raises(WeightsIntegrityError, match="SHA-256"):
        resolve(_card(), _settings(tmp_path))
    _write(tmp_path / "models", PAYLOAD[:100])
    with pytest.raises(WeightsIntegrityError, match="truncated"):
        resolve(_card(), _settings(tmp_path))
    assert availability(_card(), _settings(tmp_path)).sha_ok is False


def test_missing_weights_and_downloads_off_by_default(tmp_path):
    source = _write(tmp_path / "elsewhere", PAYLOAD)
    card = _card(url=source.as_uri())
    with pytest.raises(ModelUnavailableError, match="downloads are disabled") as err:
        resolve(card, _settings(tmp_path))
    assert "GEOVIGIE_MODELS_DIR" in err.value.hint
    assert availability(card, _settings(tmp_path)).path is None


def test_download_when_enabled_lands_in_cache_and_is_verified(tmp_path):
    source = _write(tmp_path / "elsewhere", PAYLOAD)
    settings = _settings(tmp_path, models_download=True)
    [found] = resolve(_card(url=source.as_uri()), settings)
    assert found.source == "download" and found.path.read_bytes() == PAYLOAD
    assert found.path.is_relative_to(settings.resolved_models_cache_dir)
    [again] = resolve(_card(url=source.as_uri()), settings)
    assert again.source == "cache"


def test_download_of_a_wrong_file_is_rejected_and_not_kept(tmp_path):
    source = _write(tmp_path / "elsewhere", b"something else entirely")
    settings = _settings(tmp_path, models_download=True)
    with pytest.raises(WeightsIntegrityError):
        resolve(_card(url=source.as_uri(), size=None), settings)
    assert not (settings.resolved_models_cache_dir / "tiny" / "w.bin").exists()
    assert not list(settings.resolved_models_cache_dir.rglob("*.part"))


def test_real_weights_match_their_cards():
    settings = Settings()
    if not settings.models_dir.is_dir():
        pytest.skip(f"model weights not found at {settings.models_dir} (set GEOVIGIE_MODELS_DIR)")
    for card in list_cards():
        state = availability(card, settings)
        if state.path is not None and state.source == "models_dir":
            assert state.sha_ok, f"{card.name}: {state.problem}"


def test_found_in_an_installed_package_resources(tmp_path):
    import json

    from geovigie.tools.models import sha256_of

    resource = Path(json.__file__)  # any installed package works: json's own __init__.py stands in for weights
    card = _card().model_copy(
        update={"package": "json", "files": (ModelFile(name=resource.name, sha256=sha256_of(resource)),)}
    )
    [found] = resolve(card, _settings(tmp_path))
    assert found.source == "package" and found.path == resource
