"""The README and the documentation site hold together: links, pages, version and changelog."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

import sim

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
LINK = re.compile(r"\]\(([^)\s#]+)(?:#[^)]*)?\)")


def nav_pages(entries: Any) -> Iterator[str]:
    """Every page of the site's navigation, as a path below docs/."""
    for entry in entries:
        if isinstance(entry, str):
            yield entry
        else:
            for value in entry.values():
                yield from ([value] if isinstance(value, str) else nav_pages(value))


def site_nav() -> list[str]:
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    return list(nav_pages(yaml.safe_load(text)["nav"]))


def test_the_readme_stays_a_five_minute_read() -> None:
    assert len(README.encode("utf-8")) <= 16_000


def test_every_page_of_the_site_is_one_click_from_the_readme() -> None:
    linked = {target.removeprefix("./") for target in LINK.findall(README)}
    linked |= {"docs/changelog.md"} if "CHANGELOG.md" in linked else set()  # the same text
    missing = [page for page in site_nav() if f"docs/{page}" not in linked]
    assert missing == [], f"README.md links no page {missing}"


def test_every_page_in_docs_is_in_the_navigation_and_exists() -> None:
    nav = set(site_nav())
    assert all((ROOT / "docs" / page).is_file() for page in nav), nav
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    assert pages - nav == set(), "pages outside the navigation"


def test_every_file_the_readme_links_exists() -> None:
    targets = [t for t in LINK.findall(README) if "://" not in t]
    assert targets
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert missing == [], missing


def test_every_example_file_a_page_names_exists() -> None:
    pages = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]
    named = {
        (page, name)
        for page in pages
        for name in re.findall(r"docs/examples/[\w./-]+\.\w+", page.read_text(encoding="utf-8"))
    }
    assert named
    missing = [f"{p.relative_to(ROOT)}: {name}" for p, name in named if not (ROOT / name).is_file()]
    assert missing == [], missing


def test_the_version_is_the_newest_in_the_changelog() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["dynamic"] == ["version"]  # one place: sim/version.py
    attr = pyproject["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "sim.version.__version__"
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    versions = re.findall(r"^## (\d+\.\d+\.\d+)\b", changelog, re.M)
    assert versions and versions[0] == sim.__version__, (
        f"sim/version.py says {sim.__version__} and the newest version in CHANGELOG.md is "
        f"{versions[:1]}: record the change, or bump the version"
    )
    assert versions == sorted(versions, key=lambda v: tuple(map(int, v.split("."))), reverse=True)


def test_the_site_shows_the_changelog_itself() -> None:
    page = (ROOT / "docs" / "changelog.md").read_text(encoding="utf-8")
    assert page.strip() == '--8<-- "CHANGELOG.md"'


def test_ci_runs_the_readme_install_and_test_command_exactly() -> None:
    quick_start = re.search(r"^## Quick start\n+```bash\n(.*?)```", README, re.S | re.M)
    assert quick_start is not None
    commands = [line.split("#")[0].strip() for line in quick_start.group(1).splitlines()]
    assert commands[1] == "pip install -e '.[dev]' && python -m pytest"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert commands[1] in ci
