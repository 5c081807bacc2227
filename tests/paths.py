"""Where the repository's configs live, for tests that read them."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
TOPOLOGIES = ROOT / "resilinet_cli" / "config" / "topologies"  # the presets shipped in the package
