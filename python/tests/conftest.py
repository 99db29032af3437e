"""Shared fixtures: the repository, the shared data beside it, the CLI."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

PYTHON_DIR = Path(__file__).resolve().parent.parent
REPO = PYTHON_DIR.parent
SHARED = Path(os.environ.get("BEIAN_SHARED", REPO.parent / "shared"))
KONSHENG = SHARED / "data" / "lexicons" / "konsheng"
NOVELS = SHARED / "data" / "corpus" / "four-classic-novels"


@pytest.fixture(scope="session", autouse=True)
def _lexicon_cache(tmp_path_factory):
    """The CLI keeps engines it builds in a lexicon cache in the user's
    home by default: the tests' runs of it use one of their own."""
    old = os.environ.get("BEIAN_LEXICON_CACHE")
    os.environ["BEIAN_LEXICON_CACHE"] = str(tmp_path_factory.mktemp("lexicon-cache"))
    yield
    if old is None:
        os.environ.pop("BEIAN_LEXICON_CACHE", None)
    else:
        os.environ["BEIAN_LEXICON_CACHE"] = old


@pytest.fixture(scope="session")
def konsheng() -> Path:
    assert KONSHENG.is_dir(), f"shared data missing: {KONSHENG} (clone shared/ beside the repo)"
    return KONSHENG


@pytest.fixture(scope="session")
def novels() -> Path:
    assert NOVELS.is_dir(), f"shared data missing: {NOVELS}"
    return NOVELS


@pytest.fixture(scope="session")
def beian_bin() -> str:
    """The CLI: $BEIAN_BIN, else target/{debug,release}/beian, else built now."""
    env = os.environ.get("BEIAN_BIN")
    if env:
        return env
    for profile in ("debug", "release"):
        p = REPO / "target" / profile / "beian"
        if p.exists():
            return str(p)
    cargo = shutil.which("cargo")
    assert cargo, "no beian binary and no cargo to build one"
    subprocess.run([cargo, "build", "-p", "beian"], cwd=REPO, check=True)
    return str(REPO / "target" / "debug" / "beian")


@pytest.fixture(scope="session")
def screen(konsheng):
    import beian

    return beian.Screen([str(konsheng)])
