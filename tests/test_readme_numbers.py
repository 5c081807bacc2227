"""Every statistic the README and the user guide state comes from a committed table or page.

The README quotes report pages and summarises committed references; nothing in it is typed by
hand. Each quoted sentence must appear verbatim in the committed page it quotes, and every
number of "Does the claim hold?" (the README's summary and the guide's full section,
docs/claims.md) must be a rendering of a value in the claims profile's committed tables; the
guide's "Failure models" (docs/evaluation.md) likewise, from the failure-model runs' tables.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest
from paths import ROOT

README = (ROOT / "README.md").read_text()
CLAIMS = ROOT / "results" / "claims"
CLAIM_PAGES = {"README.md": "## Does the claim hold?", "docs/claims.md": "# Does the claim hold?"}


def section(heading: str, text: str = README) -> str:
    """From the heading (``## X``, or a page's ``# X``) to the next heading of its level."""
    start = text.index(f"{heading}\n")
    end = text.find("\n" + heading.split(" ", 1)[0] + " ", start + 1)
    return text[start : end if end > 0 else None]


def quotes(text: str) -> list[str]:
    """The sentences a section quotes from a page: text in double quotes, joined over lines."""
    return [" ".join(q.split()) for q in re.findall(r'"([^"]{40,})"', text, flags=re.DOTALL)]


def test_the_quickstart_quote_is_on_the_committed_page() -> None:
    page = " ".join((ROOT / "results" / "quick" / "quickstart" / "REPORT.md").read_text().split())
    found = quotes(section("## What the quickstart prints"))
    assert found, "the section quotes its page"
    for quote in found:
        assert quote in page, quote


def renderings(value: float) -> set[str]:
    """How a page or the README may print a table's value: a fraction as points with one or two
    decimals (signed or not), a p-value as the pages print it, a correlation as is."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return set()
    shown = set()
    for scaled in (100 * value, value):
        for decimals in (1, 2):
            text = f"{scaled:.{decimals}f}"
            shown |= {text, text.lstrip("-"), f"{scaled:+.{decimals}f}"}
    if value < 0.01:
        shown.add(f"{value:.3f}")
    return shown


def claims_numbers() -> set[str]:
    """Every rendering of every number in the claims profile's committed tables."""
    shown: set[str] = set()
    for path in CLAIMS.glob("*/tables/*.csv"):
        table = pd.read_csv(path)
        for column in table.select_dtypes("number").columns:
            for value in table[column]:
                shown |= renderings(float(value))
    return shown


NOT_STATISTICS = {"0.05", "0.8", "2.6", "0.85", "0.80", "0.78", "0.9"}  # levels, settings


@pytest.mark.skipif(not CLAIMS.is_dir(), reason="no committed claims profile")
@pytest.mark.parametrize("page", CLAIM_PAGES)
def test_every_number_of_the_claim_section_is_in_a_committed_claims_table(page: str) -> None:
    text = section(CLAIM_PAGES[page], (ROOT / page).read_text())
    text = re.sub(r"`[^`]*`|§[\d.]+", "", text)  # commands, keys, file and section names
    text = re.sub(r"\]\([^)]*\)", "]", text)  # link targets
    numbers = re.findall(r"(?<![\w.])[-+\u2212]?\d+\.\d+", text)
    assert len(numbers) > 20
    known = claims_numbers() | NOT_STATISTICS
    unknown = [n for n in numbers if n.replace("\u2212", "-") not in known]
    assert not unknown, f"numbers in {page}'s claim section not in results/claims: {unknown}"


def table_numbers(paths: list[Path]) -> set[str]:
    shown: set[str] = set()
    for path in paths:
        table = pd.read_csv(path)
        for column in table.select_dtypes("number").columns:
            for value in table[column]:
                shown |= renderings(float(value))
    return shown


def test_every_number_of_the_failure_models_section_is_committed_or_recomputed() -> None:
    """The failure-model experiments' tables, and the quickstart rescored under shared_rack
    (recomputed here from the committed units, as the guide's command does)."""
    import json

    from click.testing import CliRunner

    from resilinet_cli.cli import main

    text = section("## Failure models", (ROOT / "docs" / "evaluation.md").read_text())
    text = re.sub(r"`[^`]*`|§[\d.]+", "", text)  # commands, file names, section numbers
    numbers = re.findall(r"(?<![\w.])[-+]?\d+\.\d+", text)
    assert len(numbers) > 50
    tables = sorted((ROOT / "results").glob("*_failure_model/tables/weighted_accuracy.csv"))
    known = table_numbers(tables)
    rack = ROOT / "configs" / "failure_models" / "shared_rack.yaml"
    result = CliRunner().invoke(
        main, ["evaluate", str(ROOT / "results/quick/quickstart"), "--failure-model", str(rack),
               "--json"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    for row in json.loads(result.stdout)["weighted"]:
        known |= renderings(row["mean"]) | renderings(row["std"])
    survival = {"0.95", "0.91", "0.87", "0.05", "0.9", "0.85", "0.80", "0.78"}  # model inputs
    unknown = [n for n in numbers if n not in known | survival]
    assert not unknown, f"numbers in docs/evaluation.md's failure models not in a table: {unknown}"


def markdown_table(text: str, header: str) -> list[str]:
    """The lines of the Markdown table in ``text`` whose header row starts with ``header``."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    return lines[start:end]


@pytest.mark.skipif(not CLAIMS.is_dir(), reason="no committed claims profile")
@pytest.mark.parametrize("page", CLAIM_PAGES)
def test_the_claim_summary_is_the_committed_profile_pages(page: str) -> None:
    """The table of verdicts is the claims profile page's, copied, not retyped."""
    report = (CLAIMS / "REPORT.md").read_text()
    text = section(CLAIM_PAGES[page], (ROOT / page).read_text())
    header = "| experiment"
    assert markdown_table(text, header) == markdown_table(report, header)


METHODS = ROOT / "results" / "methods"


def prose_numbers(text: str) -> list[str]:
    """The decimal numbers a guide section states, leaving out code, file names, section
    numbers and link targets."""
    text = re.sub(r"`[^`]*`|§[\d.]+", "", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return re.findall(r"(?<![\w.])[-+\u2212]?\d+\.\d+", text)


@pytest.mark.skipif(not METHODS.is_dir(), reason="no committed methods profile")
def test_every_number_of_the_committed_methods_section_is_in_its_tables() -> None:
    """docs/comparing-methods.md's committed results: the methods profile's tables, copied."""
    numbers = prose_numbers(
        section("## Committed results", (ROOT / "docs" / "comparing-methods.md").read_text())
    )
    assert len(numbers) > 20
    known = table_numbers(sorted(METHODS.glob("*/tables/*.csv"))) | {"0.5", "0.001"}  # <0.001
    unknown = [n for n in numbers if n.replace("\u2212", "-") not in known]
    assert not unknown, f"numbers in docs/comparing-methods.md not in results/methods: {unknown}"


SEARCHES = sorted((ROOT / "results").glob("search_*/search.json"))


@pytest.mark.skipif(not SEARCHES, reason="no committed search")
def test_every_number_of_the_committed_search_results_is_in_their_files() -> None:
    """docs/search.md's committed results: the searches' CSV files, their REPORT.md pages and
    the fronts' comparison the bench wrote beside them, copied."""
    text = section("## 10. Committed results", (ROOT / "docs" / "search.md").read_text())
    text = re.sub(r"`[^`]*`|§[\d.]+", "", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    numbers = re.findall(r"(?<![\w.])[-+\u2212]?\d+\.\d+", text)
    assert len(numbers) > 10
    folders = [path.parent for path in SEARCHES]
    known = table_numbers([csv for folder in folders for csv in sorted(folder.glob("*.csv"))])
    for page in [*(f / "REPORT.md" for f in folders), *(f / "fronts.txt" for f in folders)]:
        if page.is_file():
            known |= set(re.findall(r"[-+]?\d+\.\d+", page.read_text(encoding="utf-8")))
    unknown = [n for n in numbers if n.replace("\u2212", "-") not in known]
    assert not unknown, f"numbers in docs/search.md not in results/search_*: {unknown}"


def test_every_number_of_the_live_load_and_soak_sections_is_in_their_tables() -> None:
    """docs/live.md §14-16 (load curve, saturation, per-hop timing, soak): each number with a
    decimal point is a value of a committed table under results/live/."""
    page = (ROOT / "docs" / "live.md").read_text()
    headings = re.findall(r"^## 1[456]\. .*$", page, flags=re.MULTILINE)
    assert len(headings) == 3
    text = "".join(section(heading, page) for heading in headings)
    text = re.sub(r"```.*?```|`[^`]*`|§[\d.]+", "", text, flags=re.DOTALL)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    numbers = re.findall(r"(?<![\w.])[-+\u2212]?\d+\.\d+", text)
    assert len(numbers) > 10
    known = table_numbers(sorted((ROOT / "results" / "live").glob("*/*.csv")))
    unknown = [n for n in numbers if n.replace("\u2212", "-") not in known]
    assert not unknown, f"numbers in docs/live.md §14-16 not in results/live/: {unknown}"


def test_every_number_of_the_committed_sensors_section_is_in_its_tables() -> None:
    """docs/sensors.md's committed results: the sensors profile's tables and pages, copied."""
    numbers = prose_numbers(
        section("## 8. Committed results", (ROOT / "docs" / "sensors.md").read_text())
    )
    assert len(numbers) > 20
    folder = ROOT / "results" / "sensors"
    known = table_numbers(sorted(folder.glob("*/tables/*.csv")))
    for page in sorted(folder.glob("**/REPORT.md")):
        known |= set(re.findall(r"[-+\u2212]?\d+\.\d+", page.read_text(encoding="utf-8")))
    unknown = [n for n in numbers if n.replace("\u2212", "-") not in known]
    assert not unknown, f"numbers in docs/sensors.md not in results/sensors: {unknown}"
