"""The installed distribution claims one import name, ``geovigie``, so it coexists with packages named ``tools``."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _wheel(project: Path, out: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), str(project)],
        check=True,
        capture_output=True,
    )
    return next(out.glob(f"{project.name if project != ROOT else 'geovigie'}-*.whl"))


def test_wheel_installs_beside_a_distribution_that_ships_tools(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    ours = _wheel(ROOT, wheels)
    tops = {name.split("/")[0] for name in zipfile.ZipFile(ours).namelist()}
    assert {t for t in tops if not t.endswith(".dist-info")} == {"geovigie"}
    assert "geovigie/ui/static/leaflet/leaflet.js" in zipfile.ZipFile(ours).namelist()

    other = tmp_path / "othertools"
    (other / "tools").mkdir(parents=True)
    (other / "tools" / "__init__.py").write_text('WHO = "othertools"\n')
    (other / "pyproject.toml").write_text(
        textwrap.dedent("""
        [build-system]
        requires = ["setuptools>=68"]
        build-backend = "setuptools.build_meta"
        [project]
        name = "othertools"
        version = "1.0"
        [tool.setuptools]
        packages = ["tools"]
        """)
    )
    theirs = _wheel(other, wheels)

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(theirs), str(ours)],
        check=True,
        capture_output=True,
    )
    # Third-party dependencies come from this environment, appended after the new venv's own site-packages
    # (a path added by a .pth line does not run that folder's .pth files, so the editable GeoVigie stays out).
    (site / "zz_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    probe = (
        "import tools, geovigie.tools\n"
        "from geovigie.tools.registry import TOOLS\n"
        "print(tools.WHO, geovigie.tools.__file__, ' '.join(sorted(TOOLS)))\n"
    )
    out = subprocess.run([str(python), "-c", probe], check=True, capture_output=True, text=True, cwd=tmp_path)
    who, where, names = out.stdout.split(" ", 2)
    assert who == "othertools"
    assert where.startswith(str(site))
    assert {"segment", "detect_change", "count_objects"} <= set(names.split())
