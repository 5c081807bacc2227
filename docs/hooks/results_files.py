"""MkDocs hook: the committed report pages and figures under results/ join the site at build time.

The guide links them as ``../results/...``, which resolves on GitHub and in a clone; the hook adds
those files to the site as ``results/...`` (read from the repository, never copied into docs/)
and rewrites the guide's links to match, so ``mkdocs build --strict`` checks them too.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mkdocs.structure.files import Files

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "results"
SITE_PATTERNS = ("REPORT.md", "*.png")  # what the guide and the report pages link


def results_files() -> list[Path]:
    """Every report page and figure under results/, except the per-unit folders."""
    found = {p for pattern in SITE_PATTERNS for p in RESULTS.rglob(pattern)}
    return sorted(p for p in found if "runs" not in p.relative_to(RESULTS).parts)


def on_files(files: Files, config: Any) -> Files:
    """Add results/ files to the site, under the same path they have in the repository."""
    from mkdocs.structure.files import File  # only while MkDocs builds: the tests read this file

    for path in results_files():
        files.append(
            File(
                path.relative_to(ROOT).as_posix(),
                src_dir=str(ROOT),
                dest_dir=config["site_dir"],
                use_directory_urls=config["use_directory_urls"],
            )
        )
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """A guide page (top of docs/) links ``../results/X``; in the site that is ``results/X``."""
    if "/" in page.file.src_uri or page.file.src_uri.startswith("results"):
        return markdown
    return markdown.replace("](../results/", "](results/")
