"""The deployment package: this folder less .funcignore, as Azure Functions Core Tools and azd
build it (both read .funcignore with gitignore semantics). It must hold the app and nothing
of the tooling that tests, benchmarks or runs it locally."""

from __future__ import annotations

import os
from pathlib import Path

import pathspec

ROOT = Path(__file__).resolve().parents[2]
# The app is a few hundred kilobytes of Python; the dependencies come from the remote build.
MAX_PACKAGE_BYTES = 2 * 1024 * 1024
TOOLING = ("tests/", "tools/", "bench/", "devserver/", "docs/", "infra/", ".hypothesis/", ".data/")


def package_files(root: Path) -> dict[str, int]:
    """Every file the package would hold, by its path relative to `root`, with its size."""
    spec = pathspec.GitIgnoreSpec.from_lines(
        (root / ".funcignore").read_text(encoding="utf-8").splitlines()
    )
    found: dict[str, int] = {}
    for folder, dirs, files in os.walk(root):
        relative = Path(folder).relative_to(root)
        # A folder the spec excludes is not walked, as gitignore does not look inside it.
        dirs[:] = [d for d in dirs if not spec.match_file(f"{(relative / d).as_posix()}/")]
        for name in files:
            path = (relative / name).as_posix()
            if not spec.match_file(path):
                found[path] = (Path(folder) / name).lstat().st_size
    return found


def test_the_package_holds_the_app() -> None:
    files = package_files(ROOT)
    for required in ("function_app.py", "host.json", "requirements.txt"):
        assert required in files
    assert any(p.startswith("functions/") for p in files)
    assert any(p.startswith("shared/") for p in files)


def test_the_package_holds_no_test_tooling_and_stays_small() -> None:
    files = package_files(ROOT)
    tooling = sorted(
        p
        for p in files
        if p.startswith(TOOLING)
        or "/node_modules/" in f"/{p}"
        or "__pycache__" in p
        or Path(p).name in ("conftest.py", "requirements-dev.txt", "local.settings.json")
    )
    assert tooling == []
    assert sum(files.values()) < MAX_PACKAGE_BYTES, f"{sum(files.values())} bytes"


def test_each_tooling_folder_is_left_out_even_when_present(tmp_path: Path) -> None:
    """Folders this checkout may not have yet (devserver/, .hypothesis/, .data/) are left out
    once they exist."""
    (tmp_path / ".funcignore").write_text(
        (ROOT / ".funcignore").read_text(encoding="utf-8"), encoding="utf-8"
    )
    (tmp_path / "function_app.py").write_text("", encoding="utf-8")
    for folder in TOOLING:
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "kept.py").write_text("", encoding="utf-8")
    (tmp_path / "shared" / "node_modules").mkdir(parents=True)
    (tmp_path / "shared" / "node_modules" / "x.js").write_text("", encoding="utf-8")
    assert set(package_files(tmp_path)) == {"function_app.py"}
