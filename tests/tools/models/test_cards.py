import pytest

from geovigie.core.errors import ToolInputError
from geovigie.tools.models import (
    TINYCD_LEVIR,
    YOLO_DOTA_OBB,
    ModelDomainError,
    get_card,
    list_cards,
    register_card,
    unregister_card,
)


def test_known_cards_and_registration():
    names = [c.name for c in list_cards()]
    assert {"yolov8n-obb-dota", "tinycd-levir", "tinycd-whu"} <= set(names)
    extra = YOLO_DOTA_OBB.model_copy(update={"name": "yolo-test-copy"})
    register_card(extra)
    try:
        assert get_card("yolo-test-copy") is extra
        with pytest.raises(ToolInputError):
            register_card(extra.model_copy(update={"version": "other"}))
    finally:
        unregister_card("yolo-test-copy")
    with pytest.raises(ToolInputError, match="Unknown model"):
        get_card("yolo-test-copy")


def test_domain_checks_say_why():
    assert YOLO_DOTA_OBB.domain_problem(pixel_size_m=0.3) is None
    assert "outside" in (YOLO_DOTA_OBB.domain_problem(pixel_size_m=10.0) or "")
    assert "unknown" in (YOLO_DOTA_OBB.domain_problem(pixel_size_m=None) or "")
    assert "missing: blue" in (TINYCD_LEVIR.domain_problem(pixel_size_m=0.5, bands=("red", "green")) or "")
    with pytest.raises(ModelDomainError, match="tinycd-levir"):
        TINYCD_LEVIR.check_domain(pixel_size_m=10.0)


def test_citation_names_licence_and_accuracy():
    assert "AGPL-3.0" in YOLO_DOTA_OBB.citation() and YOLO_DOTA_OBB.restrictive
    assert "P0706" in YOLO_DOTA_OBB.accuracy_text("ship")
    assert "not measured" in YOLO_DOTA_OBB.accuracy_text("helicopter")
