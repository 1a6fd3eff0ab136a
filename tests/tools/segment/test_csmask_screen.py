from pathlib import Path

import pytest

from geovigie.tools.base import ToolContext
from geovigie.tools.models import csmask_available
from geovigie.tools.segment import segment

pytestmark = pytest.mark.skipif(not csmask_available(), reason="ukis-csmask is an optional extra (geovigie[csmask])")

S2_BANDS = [("B1", "coastal"), ("B2", "blue"), ("B3", "green"), ("B4", "red"), ("B5", "rededge1"),
            ("B6", "rededge2"), ("B7", "rededge3"), ("B8", "nir"), ("B8A", "nir08"), ("B9", "nir09"),
            ("B10", "cirrus"), ("B11", "swir16"), ("B12", "swir22")]  # fmt: skip


def test_segment_cloud_with_csmask_is_named_in_provenance(settings, register, data_dir: Path):
    chip = data_dir / "sen1floods11_sample" / "Spain_7370579_S2Hand.tif"
    if not chip.is_file():
        pytest.skip(f"Sen1Floods11 chip not found at {chip}")
    ctx = ToolContext.from_settings(settings.model_copy(update={"cloud_masker": "ukis_csmask"}))
    item = register(ctx, chip, item_id="spain-l1c", bands=S2_BANDS, scale=1e-4)
    out = segment.run({"item_id": item, "target": "cloud"}, ctx)
    assert out.result.cloud_method == "ukis-csmask"
    assert "ukis-csmask" in out.provenance.method and "Apache-2.0" in out.provenance.method
    assert out.provenance.parameters["cloud_work_pixel_m"] > 20
    default = segment.run({"item_id": item, "target": "cloud"}, ToolContext.from_settings(settings))
    assert default.result.cloud_method != "ukis-csmask"
