"""The floors hold: every import points down, libraries stay libraries, verifiers stand alone.

The contracts live in pyproject.toml; import-linter reads the installed package, which the
strict editable install lays out as it is at run time.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration


def test_import_linter_contracts_are_kept(tmp_path: Path) -> None:
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "import-linter is not installed (pip install -e '.[dev]')"
    result = subprocess.run(
        [lint_imports, "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=tmp_path,  # away from the checkout: the package is found where it is installed
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Floors: every import points down KEPT" in result.stdout
    assert "0 broken" in result.stdout


def test_no_controller_imports_the_composition_root() -> None:
    controllers = sorted((ROOT / "src" / "tender").glob("*/api.py"))
    assert len(controllers) >= 5
    for controller in controllers:
        assert "tender.platform" not in controller.read_text(), controller
