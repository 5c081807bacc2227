"""The README is the door and docs/ the user guide: each says what it must, and the guide builds.

The README stays short (at most 250 lines) and names the five words a newcomer needs; the guide
(MkDocs, ``mkdocs.yml``) lists every page of docs/, its API reference names every public name of
``resilinet_cli`` with its docstring, and ``mkdocs build --strict`` passes (when MkDocs is
installed: ``make docs`` installs the ``docs`` extra). Links and anchors are checked by
``tests/test_self_contained.py``, numbers by ``tests/test_readme_numbers.py``.
"""

from __future__ import annotations

import html
import importlib.util
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from paths import ROOT

import resilinet_cli as rn
import resilinet_cli.api  # the lazy names' module, loaded once at collection, not in a test
from resilinet_cli.cli import main

README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = ROOT / "docs"
GLOSSARY = ("variant", "failout", "skip hyperconnection", "combination", "weighted accuracy")


def page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def nav_pages(nav: list) -> list[str]:
    """The page files of mkdocs.yml's nav, in order, sections flattened."""
    pages = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages += nav_pages(value) if isinstance(value, list) else [value]
    return pages


def mkdocs_config() -> dict:
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


def test_the_readme_fits_on_a_screen_or_five() -> None:
    assert len(README.splitlines()) <= 250


def test_the_readme_has_what_a_newcomer_needs() -> None:
    for heading in ("What the quickstart prints", "Five words", "Does the claim hold?",
                    "Commands", "Python API", "The user guide"):  # fmt: skip
        assert f"\n## {heading}\n" in README, heading
    assert "make quickstart" in README and "make test" in README
    glossary = README.split("\n## Five words\n", 1)[1].split("\n## ", 1)[0]
    defined = re.findall(r"^- \*\*([^*]+)\*\*", glossary, flags=re.MULTILINE)
    assert tuple(defined) == GLOSSARY


def test_the_command_tour_has_one_line_per_command() -> None:
    """Every command ``resilinet --help`` lists has its row in the README, and no other."""
    tour = README.split("\n## Commands\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([\w-]+)", tour, flags=re.MULTILINE)
    assert sorted(rows) == sorted(main.commands)
    synopsis = page("commands.md")
    assert [c for c in main.commands if f"resilinet {c}" not in synopsis] == []


def test_install_is_from_the_repository_not_a_package_index() -> None:
    """resilinet is not on a package index: the docs say ``pip install -e '.[ray]'``."""
    assert "pip install -e '.[ray]'" in README
    assert "pip install -e '.[ray]'" in page("install.md")
    texts = {"README.md": README} | {p.name: p.read_text() for p in DOCS.glob("*.md")}
    wrong = re.compile(r"pip install '?resilinet\b")
    assert [name for name, text in texts.items() if wrong.search(text)] == []


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_shell_completion_is_documented_and_works(shell: str) -> None:
    """The guide's line for each shell, and Click's completion script it evaluates."""
    assert f"_RESILINET_COMPLETE={shell}_source resilinet" in page("install.md")
    result = CliRunner().invoke(
        main, [], env={"_RESILINET_COMPLETE": f"{shell}_source"}, prog_name="resilinet"
    )
    assert result.exit_code == 0, result.output
    assert "_resilinet_completion" in result.output
    assert f"_RESILINET_COMPLETE={shell}_complete" in result.output


def test_every_guide_page_is_in_the_nav() -> None:
    config = mkdocs_config()
    pages = nav_pages(config["nav"])
    assert len(pages) == len(set(pages))
    assert sorted(pages) == sorted(p.name for p in DOCS.glob("*.md"))
    assert config["strict"] is True
    assert config["theme"]["name"] == "material"


def api_members() -> list[str]:
    """The names the API page asks mkdocstrings to render, under ``::: resilinet_cli``."""
    text = page("api.md")
    assert "\n::: resilinet_cli\n" in text
    return re.findall(r"^ {8}- (\S+)$", text.split("members:", 1)[1], flags=re.MULTILINE)


def test_the_api_page_renders_every_public_name_with_its_docstring() -> None:
    members = api_members()
    assert sorted(members) == sorted(rn.__all__)
    for name in rn.__all__:
        if name != "__version__":  # a string; the page says what it is
            assert inspect.getdoc(getattr(rn, name)), f"rn.{name} has no docstring"
    assert "`rn.__version__`" in page("api.md")


def test_the_guide_copies_of_the_readme_examples_are_the_readme_examples() -> None:
    """The README's blocks are the ones the tests run; the guide shows the same code."""
    assert python_blocks(page("python-api.md")) == python_blocks(README)


def load_hook():
    path = DOCS / "hooks" / "results_files.py"
    spec = importlib.util.spec_from_file_location("results_files", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_build_adds_every_results_file_the_guide_links() -> None:
    """Figures and report pages stay under results/ (no copy in docs/); the hook adds them."""
    hook = load_hook()
    added = {p.relative_to(ROOT).as_posix() for p in hook.results_files()}
    linked = {
        "results/" + target
        for p in DOCS.glob("*.md")
        for target in re.findall(r"\]\(\.\./results/([^)#\s]+)", p.read_text())
    }
    assert len(linked) >= 8
    assert linked <= added
    assert not any("/runs/" in path for path in added)
    assert not list(DOCS.rglob("results"))


def test_the_hook_rewrites_results_links_on_guide_pages_only() -> None:
    hook = load_hook()

    class Page:
        def __init__(self, src_uri: str) -> None:
            self.file = type("F", (), {"src_uri": src_uri})()

    text = "![f](../results/claims/figures/a.png) [r](../results/claims/REPORT.md)"
    assert hook.on_page_markdown(text, Page("claims.md"), None, None) == text.replace("../", "")
    assert hook.on_page_markdown(text, Page("results/claims/REPORT.md"), None, None) == text


def visible_text(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def test_the_guide_builds_strict_offline_with_the_api_reference(tmp_path: Path) -> None:
    """``mkdocs build --strict``: links, anchors and pages checked; every public name rendered."""
    for module in ("mkdocs", "material", "mkdocstrings_handlers.python"):
        pytest.importorskip(module, reason="the docs extra: pip install -e '.[docs]'")
    site = tmp_path / "site"
    dead = "http://127.0.0.1:9"  # offline: any fetch through a proxy would fail the build
    proxies = {k: dead for k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}
    env = os.environ | proxies | {"NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    api = (site / "api" / "index.html").read_text(encoding="utf-8")
    text = visible_text(api)
    for name in rn.__all__:
        assert f'id="resilinet_cli.{name}"' in api, name
        if name != "__version__":
            first = " ".join(inspect.getdoc(getattr(rn, name)).split()[:4]).replace("``", "")
            assert first in text, (name, first)
    assert (site / "results" / "claims" / "figures" / "claim_by_epoch.png").is_file()
    assert (site / "results" / "claims" / "REPORT" / "index.html").is_file()
    assert "fonts.googleapis.com" not in (site / "index.html").read_text(encoding="utf-8")
