"""The one settings object of GeoVigie.

Every knob is read here, from the environment (prefix ``GEOVIGIE_``) or a ``.env`` file, and nowhere else.
Everything else receives a :class:`Settings` instance as a dependency.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

_DEFAULT_HOME = Path(".geovigie")


class Settings(BaseSettings):
    """GeoVigie configuration, populated from ``GEOVIGIE_*`` environment variables."""

    model_config = SettingsConfigDict(
        env_prefix="GEOVIGIE_",
        env_file=".env",
        extra="ignore",
        env_nested_delimiter="__",
        use_attribute_docstrings=True,
    )

    home: Path = _DEFAULT_HOME
    """Working folder for the database, artifacts and caches (created on demand)."""

    data_dir: Path = Path("../shared/data")
    """Root of the labelled sample data used by `geovigie ingest --samples`, benchmarks and evals."""

    places_cache_dir: Path | None = None
    """Where the offline gazetteer keeps its index of small towns and regions (built once, about 20 s); defaults
    to ``~/.cache/geovigie``, shared by every GeoVigie home of the user."""

    models_dir: Path = Path("../shared/models")
    """Folder of pretrained model weights (`geovigie models list` shows what is found there)."""

    models_enabled: bool = True
    """Use learned models when their weights are found; False keeps every tool on its classical method."""

    models_download: bool = False
    """Allow downloading missing weights from the model card's public URL (checked against its SHA-256)."""

    models_cache_dir: Path | None = None
    """Where downloaded weights and ONNX conversions are kept; defaults to ``home/models``."""

    models_device: Literal["auto", "cpu", "gpu"] = "auto"
    """Where ONNX models run: ``auto`` uses a GPU provider of onnxruntime when one is available."""

    cloud_masker: Literal["default", "ukis_csmask"] = "default"
    """``ukis_csmask``: screen clouds and their shadows with DLR's U-Nets (extra ``csmask``, run at ~30 m) in
    ``segment``; ``default``: product QA, s2cloudless, threshold tests."""

    db_url: str = ""
    """SQLAlchemy URL; empty means a SQLite file inside ``home``."""

    artifacts_dir: Path | None = None
    """Where PNG/GeoJSON/COG outputs are written; defaults to ``home/artifacts``."""

    stac_api_urls: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Remote STAC APIs searched in addition to the local catalog (e.g. Earth Search)."""

    stac_timeout_s: float = 20.0
    """Timeout for one remote STAC request."""

    stac_retries: int = Field(default=3, ge=0, le=10)
    """Retries of a remote STAC request answering 429 or 5xx (exponential back-off, honours ``Retry-After``)."""

    stac_asset_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Extra hosts (``host`` or ``.suffix``) whose asset hrefs may be read for remote items, besides each API's
    own host and the known hosts of Earth Search and Planetary Computer; other hrefs are never opened."""

    stac_sas_urls: dict[str, str] = Field(
        default_factory=lambda: {
            "https://planetarycomputer.microsoft.com/api/stac/v1": "https://planetarycomputer.microsoft.com/api/sas/v1/token"
        }
    )
    """STAC API URL -> SAS token endpoint (Planetary Computer style) used to sign that API's asset hrefs."""

    stac_api_tokens: dict[str, str] = Field(default_factory=dict)
    """STAC API URL -> bearer token sent to that API and with its asset reads (a private STAC API)."""

    gdal_vsi_cache_mb: int = Field(default=64, ge=0)
    """Size of GDAL's HTTP block cache (``CPL_VSIL_CURL_CACHE_SIZE``, shared by all remote COG reads)."""

    geocoder: Literal["offline", "nominatim"] = "offline"
    """Offline gazetteer (default) or Nominatim via geopy (needs internet)."""

    max_aoi_km2: float = 1_000_000.0
    """Largest area of interest a search accepts (a country); what an analysis may cost is bounded by
    ``max_pixels`` and confirmed over ``confirm_pixels``."""

    max_pixels: int = 2_500_000_000
    """Hard ceiling on the pixels (per band) of one tiled analysis (50 000 px square, 25 000 km² at 10 m): tiles
    bound the memory, this bounds the time."""

    tile_size: int = 1024
    """Tile edge in pixels for tiled processing."""

    tile_overlap: int = 32
    """Overlap between neighbouring tiles, in pixels."""

    dask_scheduler: str | None = None
    """Address of an existing Dask scheduler (``tcp://host:8786``) for large tiled runs; unset starts a local
    cluster of processes when a run is large. Its workers must see ``home`` and the scene files at the same paths."""

    dask_workers: int | None = None
    """Worker processes of the local Dask cluster; None: the core count (at least 1)."""

    dask_memory_per_worker: str = "2GiB"
    """Memory limit of each local Dask worker (Dask pauses, then restarts a worker that goes over it)."""

    executor: Literal["auto", "threads", "dask"] = "auto"
    """Where tiled work runs: threads in this process, a Dask cluster, or auto (Dask when a scheduler is set or
    the run has more than ``dask_min_pixels`` pixels)."""

    dask_min_pixels: int = 100_000_000
    """With ``executor=auto``, tiled runs over this many pixels (per band) go to Dask; smaller ones stay in-process."""

    embed_dask_min_pixels: int = 1_048_576
    """With ``executor=auto``, embeddings of grids over this many pixels are computed on Dask, one task per tile
    (an embedding costs hundreds of times more per pixel than a tiled map, hence its own threshold). The default,
    1024², is the largest embedding request, so embeddings run in-process unless this is lowered or
    ``executor=dask``: on the 2-core machine measured, a local cluster cost 5-6 s to start and gave no speed-up."""

    tile_retries: int = 2
    """Times a failed tile task is retried (a killed worker's tasks are re-run too) before it is reported."""

    confirm_pixels: int = 100_000_000
    """Runs over this many pixels (per band) need the user's confirmation after seeing the cost estimate."""

    throughput_mpx_s: float = 40.0
    """Pixels (millions, one band) one core classifies per second: the time shown in cost estimates."""

    llm_base_url: str | None = None
    """OpenAI-compatible endpoint (vLLM, llama.cpp, Ollama, OpenAI); unset means the offline planner."""

    llm_model: str = "geovlm"
    """Served model name at ``llm_base_url``."""

    llm_api_key: str = "EMPTY"
    """API key for ``llm_base_url``."""

    llm_timeout_s: float = 60.0
    """Timeout of one LLM request."""

    vlm_base_url: str | None = None
    """Endpoint used by ``ask_image``; defaults to ``llm_base_url``."""

    vlm_model: str | None = None
    """Served model name at the VLM endpoint; defaults to ``llm_model``."""

    max_images_per_request: int = 4
    """Most images sent to the VLM in one request."""

    agent_max_steps: int = 12
    """Most tool-calling steps in one turn."""

    agent_time_budget_s: float = 300.0
    """Wall-clock budget of one agent turn."""

    api_host: str = "127.0.0.1"
    """Address the HTTP service binds to."""

    api_port: int = 8080
    """Port of the HTTP service (API + chat UI)."""

    api_require_keys: bool | None = None
    """Require API keys; None means: required unless bound to a loopback address."""

    max_concurrent_turns: int | None = None
    """Agent turns run at once (the rest queue in arrival order); None: the core count for the offline planner,
    four times that for an LLM planner."""

    api_max_request_bytes: int = 1_000_000
    """Largest accepted request body (enforced while the body streams in, chunked uploads included)."""

    api_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Host names the service answers to besides loopback names (``Host`` header; DNS rebinding guard). Empty:
    loopback names only when keys are not required, any name when they are."""

    api_cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Origins (``https://app.example``) allowed to call the API and UI from a browser; empty: none."""

    api_secure_cookies: bool | None = None
    """Mark the chat's session cookie ``Secure``; None: unless bound to a loopback address."""

    max_queued_turns: int | None = Field(default=None, ge=0)
    """Turns waiting for a slot beyond ``max_concurrent_turns``; more get 429 with ``Retry-After``. None: four
    times ``max_concurrent_turns``."""

    llm_max_answer_chars: int = Field(default=20_000, ge=100)
    """Longest answer text kept from an LLM planner (longer ones are cut, with a note)."""

    ui_tiles_url: str | None = None
    """XYZ tile URL of the chat map's basemap (e.g. ``https://tile.openstreetmap.org/{z}/{x}/{y}.png``); unset
    keeps the map fully offline (imagery and results over Natural Earth country outlines); the Status tab names
    the basemap in use."""

    ui_tiles_attribution: str = "© OpenStreetMap contributors"
    """Attribution shown with ``ui_tiles_url`` tiles."""

    ui_max_upload_bytes: int = 2_000_000_000
    """Largest file accepted by the chat's upload (GeoTIFFs to ingest); API requests keep ``api_max_request_bytes``."""

    @field_validator("stac_api_urls", "api_allowed_hosts", "api_cors_origins", "stac_asset_hosts", mode="before")
    @classmethod
    def _split_urls(cls, value: object) -> object:
        if isinstance(value, str):
            return [u.strip() for u in value.replace(";", ",").split(",") if u.strip()]
        return value

    @property
    def resolved_db_url(self) -> str:
        """The database URL, defaulting to a SQLite file inside ``home``."""
        if self.db_url:
            return self.db_url
        return f"sqlite:///{(self.home / 'geovigie.db').resolve()}"

    @property
    def resolved_artifacts_dir(self) -> Path:
        """The artifacts folder, defaulting to ``home/artifacts``."""
        return self.artifacts_dir if self.artifacts_dir is not None else self.home / "artifacts"

    @property
    def resolved_places_cache_dir(self) -> Path:
        """The gazetteer's index folder, defaulting to ``~/.cache/geovigie``."""
        return self.places_cache_dir if self.places_cache_dir is not None else Path.home() / ".cache" / "geovigie"

    @property
    def resolved_models_cache_dir(self) -> Path:
        """The folder of downloaded weights and ONNX conversions, defaulting to ``home/models``."""
        return self.models_cache_dir if self.models_cache_dir is not None else self.home / "models"

    @property
    def checkpoint_path(self) -> Path:
        """SQLite file used by the LangGraph checkpointer."""
        return self.home / "checkpoints.sqlite"

    def ensure_dirs(self) -> None:
        """Create the working folders."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.resolved_artifacts_dir.mkdir(parents=True, exist_ok=True)


def settings_table() -> str:
    """Markdown table of every setting: environment variable, default, meaning (for the README)."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = field.get_default(call_default_factory=True)
        shown = "" if default is None else str(default)
        meaning = " ".join((field.description or "").split())
        rows.append(f"| `GEOVIGIE_{name.upper()}` | `{shown}` | {meaning} |")
    return "\n".join(rows)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings (read once)."""
    return Settings()
