"""One-page report of an answer: figures traced to scenes and dates, evidence, notes and tool steps."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
from PIL import Image

from geovigie.ui.report import report_html, report_markdown, write_reports


def _answer(tmp_path, *, language="en", question="Flood extent near Orihuela in September 2019?"):
    png = tmp_path / "overlay.png"
    Image.fromarray(np.full((600, 1200, 3), 200, dtype=np.uint8)).save(png)
    return {
        "thread_id": "abcdef123456",
        "question": question,
        "language": language,
        "status": "answered",
        "text": "Water covers **2.14 km²**.\n\n**Sources and method**\n- flooded area = 2.14 km²: ...",
        "figures": [
            {
                "name": "flooded area",
                "value": 2.1368,
                "unit": "km²",
                "uncertainty": "±0.3",
                "tool": "water_extent",
                "method": "Otsu on VV",
                "item_ids": ["s1-a", "s1-b"],
                "dates": ["2019-09-18T06:00:00Z", None],
                "crs": "EPSG:32630",
                "pixel_size_m": 10.0,
                "parameters": {},
            }
        ],
        "provenance": [
            {
                "tool": "water_extent",
                "method": "Otsu on VV",
                "crs": "EPSG:32630",
                "sources": ["local catalog"],
                "parameters": {"threshold_db": -18.5},
                "scenes": [
                    {"item_id": "s1-a", "datetime": "2019-09-18T06:00:00Z", "collection": "sen1floods11", "gsd_m": 10.0}
                ],
            }
        ],
        "artifacts": [
            {
                "id": "o.png",
                "kind": "png",
                "title": "water overlay 2019-09-18",
                "role": "overlay",
                "path": str(png),
                "bbox": [-0.96, 38.05, -0.92, 38.09],
            }
        ],
        "notes": ["Radar shadow may hide water near the hills."],
        "trace": [
            {"tool": "water_extent", "args": {}, "ok": True, "summary": "Water covers 2.14 km².", "duration_s": 3.2}
        ],
        "planner": "offline",
    }


def test_markdown_report_traces_each_figure_to_its_scenes(tmp_path):
    md = report_markdown(_answer(tmp_path))
    assert md.startswith("# GeoVigie — report\n") and "**Question:** Flood extent near Orihuela" in md
    assert "Water covers **2.14 km²**." in md and "flooded area = 2.14 km²: ..." not in md  # no duplicate sources
    row = next(line for line in md.splitlines() if line.startswith("| flooded area"))
    assert (
        "| 2.137 | km² | ±0.3 | water_extent: Otsu on VV | s1-a (2019-09-18), s1-b (date ?) | EPSG:32630 | 10.00 m |"
        in row
    )
    assert "- Radar shadow may hide water near the hills." in md
    assert "`o.png` — water overlay 2019-09-18 (png, overlay; bbox -0.9600, 38.0500, -0.9200, 38.0900)" in md
    assert "s1-a (2019-09-18, sen1floods11, 10 m)" in md and '"threshold_db": -18.5' in md
    assert "| water_extent | ok | 3.2 s | Water covers 2.14 km². |" in md


def test_html_report_is_self_contained_escaped_and_localised(tmp_path):
    answer = _answer(tmp_path, language="fr", question="Inondation <script>alert(1)</script> à Orihuela ?")
    page = report_html(answer, static_map=tmp_path / "overlay.png")
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<h2>Réponse</h2>" in page and "<strong>2.14 km²</strong>" in page and "lang='fr'" in page
    uris = re.findall(r"src='data:image/(png|jpeg);base64,([^']+)'", page)
    assert [kind for kind, _ in uris] == ["jpeg", "jpeg"]  # the map and the overlay, inlined (opaque: JPEG)
    thumb = Image.open(io.BytesIO(base64.b64decode(uris[1][1])))
    assert max(thumb.size) == 900  # downscaled for a one-page report
    assert "src='http" not in page and "href='http" not in page  # nothing fetched from elsewhere


def test_write_reports_names_files_by_thread_and_content(tmp_path):
    answer = _answer(tmp_path)
    md, page = write_reports(answer, tmp_path / "reports")
    assert md.name.startswith("geovigie-report-abcdef12-") and md.suffix == ".md" and page.suffix == ".html"
    assert md.read_text(encoding="utf-8") == report_markdown(answer)
    again, _ = write_reports(answer, tmp_path / "reports")
    assert again == md
    changed, _ = write_reports({**answer, "text": "Other answer."}, tmp_path / "reports")
    assert changed != md
