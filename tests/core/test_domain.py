import pytest
from pydantic import BaseModel, ValidationError

from geovigie.core.domain import Figure, Provenance, SceneRef, ToolOutput, validate_bbox
from geovigie.core.errors import AmbiguousPlaceError, GeoVigieError, ToolInputError


class _R(BaseModel):
    x: int


def test_validate_bbox_rejects_inverted_and_out_of_range() -> None:
    assert validate_bbox((1, 2, 3, 4)) == (1.0, 2.0, 3.0, 4.0)
    with pytest.raises(ToolInputError, match="inverted"):
        validate_bbox((3, 2, 1, 4))
    with pytest.raises(ToolInputError, match="outside"):
        validate_bbox((0, 0, 200, 10))


def test_tool_output_requires_summary_and_reports_completeness() -> None:
    prov = Provenance(tool="t", method="m", scenes=[SceneRef(item_id="a", datetime="2020-01-01")])
    out = ToolOutput[_R](summary="ok", result=_R(x=1), provenance=prov, figures=[Figure(name="n", value=1, unit="m")])
    assert prov.is_complete() and prov.item_ids == ["a"]
    assert "ok" in out.for_model()
    with pytest.raises(ValidationError):
        ToolOutput[_R](summary="  ", result=_R(x=1), provenance=prov)
    assert not Provenance(tool="t", method="m", scenes=[SceneRef(item_id="a")]).is_complete()


def test_error_taxonomy_carries_hint() -> None:
    err = AmbiguousPlaceError("Valencia is ambiguous.", hint="Add the country.")
    assert isinstance(err, ToolInputError) and isinstance(err, GeoVigieError)
    assert err.to_dict() == {
        "message": "Valencia is ambiguous. Add the country.",
        "type": "AmbiguousPlaceError",
        "code": "ambiguous_place",
    }
