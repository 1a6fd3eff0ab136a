"""What an image shows, read from the labels that come with it: STAC ``keywords`` for naming images.

People name sample images by their content ("the DOTA harbour picture", "the peat bog BigEarthNet patch", "the
NEON Yellowstone image"), not by id. The labels shipped with public datasets say what is in them: DOTA's
``labelTxt`` lists object classes, BigEarthNet's ``*_labels_metadata.json`` its CORINE classes, NEON's boxes are
tree crowns and its site code names a field site. The keywords are the dominant label classes in plain words
(with the words people use for them) and, for NEON, the site's name; the planner's entity linking reads them
through the catalog (:mod:`geovigie.agent.offline.item_facts`). Nothing here is inferred from pixels.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

DOMINANT_SHARE = 0.1
"""A class is a keyword when it holds at least this share of an image's labelled objects ..."""
MIN_OBJECTS = 3
"""... or this many of them (a harbour is one large object among hundreds of ships)."""

_CLASS_WORDS: dict[str, tuple[str, ...]] = {
    "ship": ("ship", "ships", "boat", "vessel"),
    "harbor": ("harbor", "harbour", "port"),
    "large-vehicle": ("vehicle", "truck", "lorry"),
    "small-vehicle": ("vehicle", "car", "parking"),
    "storage-tank": ("storage_tank", "tank"),
    "plane": ("plane", "airport"),
    "helicopter": ("helicopter",),
    "tree": ("tree", "trees", "forest"),
}
"""Words people use for a label class, besides the class name itself ("a dota lorry image")."""

NEON_SITES: dict[str, str] = {
    "OSBS": "Ordway-Swisher Biological Station, Florida",
    "SJER": "San Joaquin Experimental Range, California",
    "SOAP": "Soaproot Saddle, California",
    "YELL": "Yellowstone National Park, Wyoming",
}
"""NEON field sites of the sample images, by the code their file names carry (NEON's public site list)."""


def _words(label: str) -> list[str]:
    key = label.strip().lower()
    return [key, *_CLASS_WORDS.get(key, ())]


def _dota_classes(path: Path) -> list[str]:
    """DOTA ``labelTxt``: eight corner coordinates, the class, a difficulty flag per line."""
    counts: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 10 and re.fullmatch(r"[\d.]+", parts[0]):
            counts[parts[8]] += 1
    total = sum(counts.values())
    return [c for c, n in counts.most_common() if n >= MIN_OBJECTS or (total and n / total >= DOMINANT_SHARE)]


def _voc_classes(path: Path) -> list[str]:
    names = re.findall(r"<name>\s*([^<]+?)\s*</name>", path.read_text(errors="replace"))
    return [c for c, _ in Counter(n.lower() for n in names).most_common()]


def keywords_from_labels(labels: Sequence[str], stem: str, classes: Sequence[str] = ()) -> list[str]:
    """Keywords for an image from its label files (and classes already read, as BigEarthNet's).

    Args:
        labels: Paths of the label files found next to the image.
        stem: The image's file (or folder) name without extension; NEON site codes are read from it.
        classes: Class names the caller already read (BigEarthNet's CORINE labels).

    Returns:
        Distinct keywords, most telling first; empty when the labels say nothing readable.
    """
    found: list[str] = [c.lower() for c in classes]
    for label in labels:
        path = Path(label)
        try:
            if path.suffix == ".txt" and path.parent.name == "labelTxt":
                found += _dota_classes(path)
            elif path.suffix == ".xml":
                found += _voc_classes(path)
            elif path.name.endswith("_truth.csv"):  # DeepForest's tree-crown boxes
                found.append("tree")
        except OSError:
            continue  # an unreadable label file names nothing; the image is still catalogued
    site = next((code for code in NEON_SITES if re.search(rf"(?:^|_){code}(?:_|$)", stem)), None)
    if site:
        found += ["tree", NEON_SITES[site]]
    words = [w for label in found for w in _words(label)]
    return list(dict.fromkeys(words))
