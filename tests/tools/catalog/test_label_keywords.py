"""Keywords read from the labels shipped with an image: what it shows, in the words people use."""

from __future__ import annotations

from pathlib import Path

from geovigie.tools.catalog.label_keywords import keywords_from_labels


def _dota(tmp_path: Path, rows: list[str]) -> str:
    folder = tmp_path / "labelTxt"
    folder.mkdir()
    path = folder / "P9999.txt"
    path.write_text("imagesource:GoogleEarth\ngsd:0.3\n" + "\n".join(rows) + "\n")
    return str(path)


def test_dota_classes_that_dominate_or_recur_become_keywords(tmp_path: Path) -> None:
    rows = ["1 1 2 1 2 2 1 2 plane 0"] * 40 + ["1 1 9 1 9 9 1 9 helicopter 1"] * 3 + ["1 1 2 1 2 2 1 2 ship 0"]
    keywords = keywords_from_labels([_dota(tmp_path, rows)], "P9999")
    assert keywords[:2] == ["plane", "airport"] and "helicopter" in keywords  # 3 objects: kept though rare
    assert "ship" not in keywords  # one boat among 44 objects says nothing of the image


def test_voc_boxes_neon_sites_and_given_classes(tmp_path: Path) -> None:
    xml = tmp_path / "ABBY_001.xml"
    xml.write_text("<annotation><object><name>Tree</name></object><object><name>Tree</name></object></annotation>")
    assert keywords_from_labels([str(xml)], "ABBY_001")[:2] == ["tree", "trees"]
    assert "yellowstone national park, wyoming" in keywords_from_labels([], "2019_YELL_2_541000_4977000_image_crop")
    assert keywords_from_labels([], "patch", ["Peatbogs", "Water bodies"]) == ["peatbogs", "water bodies"]
    assert keywords_from_labels([str(tmp_path / "missing.xml")], "x") == []  # unreadable labels name nothing
