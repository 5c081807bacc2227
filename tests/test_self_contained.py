"""The repository is self-contained: every reference a reader meets points to a file in it.

Code, configs, docs and generated report pages cite the method and the architecture as
``docs/method.md §N`` and ``docs/architecture.md §N``; each such section must exist. Notes kept
outside the repository (a design page, a paper specification) must not be cited at all. Markdown
links in README.md and every page of the user guide (docs/) must resolve, to a file and, where
they name one, to a heading's anchor; LICENSE and CITATION.cff must say what they should.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from paths import ROOT as REPO

# Built from pieces so that this file does not contain them and need not skip itself.
FORBIDDEN = ("paper" + "_spec", "DESIGN" + ".md", "DESIGN" + " §")
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".cfg", ".toml", ".txt", ".cff", ".sh", ""}
SCANNED = (
    "README.md",
    "LICENSE",
    "CITATION.cff",
    "Makefile",
    "setup.cfg",
    "pyproject.toml",
    "results/README.md",
    ".ci",
    "docs",
    "resilinet_cli",
    "configs",
    "bench",
    "scripts",
    "tests",
)
DOC_REF = re.compile(r"(?<![\w./-])(docs/)?([\w-]+\.md)")
CLAUSE_END = re.compile(r"\)|\. |; ")
SECTION = re.compile(r"§\s?(\d+(?:\.\d+)*)")
HEADING = re.compile(r"^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s", re.MULTILINE)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def text_files(roots: tuple[str, ...] = SCANNED) -> list[Path]:
    files = []
    for root in roots:
        path = REPO / root
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and p.suffix in TEXT_SUFFIXES
                and "__pycache__" not in p.parts
                and not p.name.startswith(".")
            )
    return files


def committed_reports() -> list[Path]:
    return sorted((REPO / "results").rglob("REPORT.md"))


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


def headings(doc: str) -> set[str]:
    """The section numbers of a docs page, e.g. {'1', '2', '2.1', ...}."""
    return set(HEADING.findall(read(REPO / "docs" / doc)))


def section_references(text: str) -> list[tuple[str, str, int]]:
    """(docs page, section, line) of every ``docs/<page>.md §N`` citation.

    A § after a docs page on the same line belongs to that page until the next page is named or
    the clause ends (``)``, ``. ``, ``; ``), so ``docs/method.md §2.3 and §8`` cites §2.3 and §8
    of method.md. Inside docs/ a page may be named without the folder (``architecture.md §2``).
    """
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        pages = list(DOC_REF.finditer(line))
        for i, page in enumerate(pages):
            folder, name = page.groups()
            if not folder and not (REPO / "docs" / name).is_file():
                continue  # README.md, REPORT.md, ...: not a docs page
            end = pages[i + 1].start() if i + 1 < len(pages) else len(line)
            clause = line[page.end() : end]
            stop = CLAUSE_END.search(clause)
            for section in SECTION.findall(clause[: stop.start()] if stop else clause):
                found.append((name, section, number))
    return found


def forbidden_mentions(paths: list[Path]) -> list[str]:
    return [
        f"{path.relative_to(REPO)}:{number}: {line.strip()}"
        for path in paths
        for number, line in enumerate(read(path).splitlines(), start=1)
        if any(word in line for word in FORBIDDEN)
    ]


def broken_section_references(paths: list[Path]) -> list[str]:
    problems = []
    for path in paths:
        for page, section, number in section_references(read(path)):
            where = f"{path.relative_to(REPO)}:{number}"
            if not (REPO / "docs" / page).is_file():
                problems.append(f"{where}: docs/{page} does not exist")
            elif section not in headings(page):
                problems.append(f"{where}: docs/{page} has no section {section}")
    return problems


def test_docs_pages_exist_with_numbered_sections() -> None:
    for page in ("method.md", "architecture.md"):
        assert len(headings(page)) >= 5, f"docs/{page} needs numbered section headings"
    assert "9" in headings("method.md"), "docs/method.md §9 lists the deviations"


def test_no_reference_to_files_outside_the_repository() -> None:
    assert forbidden_mentions(text_files()) == []


def test_every_section_reference_exists() -> None:
    files = text_files()
    assert any(section_references(read(p)) for p in files), "expected some docs/... § citations"
    assert broken_section_references(files) == []


@pytest.mark.parametrize("page", ["method.md", "architecture.md"])
def test_docs_internal_section_references_exist(page: str) -> None:
    """A bare §N on a docs page, before any other page is named on its line, is its own."""
    own = headings(page)
    missing = []
    for number, line in enumerate(read(REPO / "docs" / page).splitlines(), start=1):
        first = DOC_REF.search(line)
        prefix = line[: first.start()] if first else line
        missing += [f"{number}: §{s}" for s in SECTION.findall(prefix) if s not in own]
    assert missing == []


def test_report_text_cites_only_the_repository() -> None:
    """Strings that end up in generated REPORT.md pages."""
    from resilinet_cli.experiments.kinds import KINDS
    from resilinet_cli.experiments.pages import SMOKE
    from resilinet_cli.results.tables import NOTE

    texts = [*(kind.text for kind in KINDS.values()), NOTE, SMOKE]
    assert not [t for t in texts if any(word in t for word in FORBIDDEN)]
    for text in texts:
        for page, section, _ in section_references(text):
            assert section in headings(page), f"{text!r}: docs/{page} has no section {section}"


def test_committed_report_pages_cite_only_the_repository() -> None:
    """Committed REPORT.md pages are generated; regenerate them if this fails."""
    reports = committed_reports()
    assert forbidden_mentions(reports) == []
    assert broken_section_references(reports) == []


FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*$", re.MULTILINE)


def guide_pages() -> list[str]:
    """The README and every page of the user guide, as paths from the repository root."""
    pages = ["README.md", "results/README.md"]
    return pages + [p.relative_to(REPO).as_posix() for p in sorted((REPO / "docs").glob("*.md"))]


def prose(text: str) -> str:
    """Markdown without its fenced code blocks, where a ``#`` or ``[x](y)`` is code, not markup."""
    return FENCE.sub("", text)


def heading_text(heading: str) -> str:
    """A heading as rendered: link targets, code and emphasis marks dropped."""
    return re.sub(r"[`*_]", "", re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading))


def github_anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, each space a hyphen."""
    return re.sub(r"[^\w\- ]", "", heading_text(heading).strip().lower()).replace(" ", "-")


def mkdocs_anchor(heading: str) -> str:
    """MkDocs' anchor of a heading (Python-Markdown's toc extension, as mkdocs.yml uses it)."""
    from markdown.extensions.toc import slugify

    return slugify(heading_text(heading), "-")


def anchors(path: Path) -> set[str]:
    """The anchors a link may name on a page: those on which GitHub and MkDocs agree."""
    found = set()
    for heading in MARKDOWN_HEADING.findall(prose(read(path))):
        if github_anchor(heading) == mkdocs_anchor(heading):
            found.add(github_anchor(heading))
    return found


def broken_links(path: Path) -> list[str]:
    """Links of a page to a missing file, or to an anchor its target page does not have."""
    broken = []
    for target in LINK.findall(prose(read(path))):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):
            continue  # a URL (https:, mailto:)
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        if not linked.exists():
            broken.append(target)
            continue
        if anchor and (linked.suffix != ".md" or anchor not in anchors(linked)):
            broken.append(target)
    return broken


def test_the_guide_is_scanned() -> None:
    """The link check below reads every page of docs/, and anchors resolve as both sites do."""
    pages = guide_pages()
    for page in ("docs/index.md", "docs/install.md", "docs/claims.md", "docs/api.md"):
        assert page in pages
    assert github_anchor("Multirun: `-m`") == "multirun--m" != mkdocs_anchor("Multirun: `-m`")
    assert "interruptions" in anchors(REPO / "docs" / "running.md")
    assert broken_links(REPO / "docs" / "index.md") == []


def test_the_link_check_sees_a_broken_link_and_anchor(tmp_path: Path) -> None:
    """The control: a missing file and a missing anchor are both reported."""
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("# A\n\n## Real part\n")
    (tmp_path / "docs" / "b.md").write_text(
        "[ok](a.md#real-part) [gone](c.md) [no anchor](a.md#fake) [here](#b) [code](a.md)\n"
        "```\n[in code](nowhere.md)\n```\n# B\n"
    )
    assert broken_links(tmp_path / "docs" / "b.md") == ["c.md", "a.md#fake"]


@pytest.mark.parametrize("page", guide_pages())
def test_markdown_links_resolve(page: str) -> None:
    assert broken_links(REPO / page) == [], f"{page}: links to missing files or anchors"


def test_readme_links_the_docs() -> None:
    readme = read(REPO / "README.md")
    for target in ("docs/method.md", "docs/architecture.md", "LICENSE", "CITATION.cff"):
        assert f"]({target})" in readme


def test_license_is_mit() -> None:
    text = read(REPO / "LICENSE")
    assert text.startswith("MIT License")
    assert "Permission is hereby granted, free of charge" in text
    assert re.search(r"^license\s*=\s*MIT$", read(REPO / "setup.cfg"), re.MULTILINE)


def test_citation_cff_cites_the_software_and_the_paper() -> None:
    cff = yaml.safe_load(read(REPO / "CITATION.cff"))
    for key in ("cff-version", "message", "title", "authors", "version", "license"):
        assert key in cff, key
    assert cff["cff-version"] == "1.2.0"
    assert cff["title"] == "resilinet"
    assert cff["license"] == "MIT"
    version = re.search(r"^version\s*=\s*(\S+)$", read(REPO / "setup.cfg"), re.MULTILINE)
    assert version and str(cff["version"]) == version.group(1)
    papers = [cff.get("preferred-citation"), *cff.get("references", [])]
    papers = [p for p in papers if p and "2002.07386" in yaml.safe_dump(p)]
    assert papers, "CITATION.cff must cite the ResiliNet paper, arXiv 2002.07386"
    paper = papers[0]
    assert paper["type"] == "article"
    assert paper["title"].startswith("ResiliNet")
    assert paper["year"] == 2020
    family = [a["family-names"] for a in paper["authors"]]
    assert family[0] == "Yousefpour" and len(family) == 8


REPO_PATH = re.compile(
    r"(?<![\w./<{-])((?:resilinet_cli|tests|bench|configs|docs|scripts)/[\w/.-]+\.(?:py|md|yaml))"
)


def test_every_file_path_mentioned_exists() -> None:
    """A renamed or moved module must not leave its old path in the docs, code or tests."""
    missing = [
        f"{path.relative_to(REPO)}: {target}"
        for path in text_files(("README.md", "docs", "resilinet_cli", "bench", "tests", "configs"))
        for target in REPO_PATH.findall(read(path))
        if not (REPO / target).exists()
    ]
    assert missing == []
