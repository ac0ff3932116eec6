"""The library boundaries hold: signing/ and storage/ never import the service."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from tools.package_tree import ROOT, build


def test_import_linter_contracts_are_kept(tmp_path: Path) -> None:
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "import-linter is not installed (pip install -e '.[dev]')"
    # import-linter walks the file system, which the mapped editable install hides from it.
    tree = build(tmp_path / "tree")
    result = subprocess.run(
        [lint_imports, "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout
