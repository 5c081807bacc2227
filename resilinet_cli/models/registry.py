"""Model families by name; importable without TensorFlow so configs validate quickly."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class FamilyInfo:
    """Where a family's builder lives, and its partition settings.

    A partition setting lists how many layers (or blocks) each non-input node hosts, from the
    node after the input to the output node.
    """

    module: str
    partitions: dict[int, tuple[int, ...]]

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)


FAMILIES: dict[str, FamilyInfo] = {
    # paper_spec §2.2: "1->2->3->4" and "2->3->2->3" (edge, fog2, fog1, cloud).
    "mlp": FamilyInfo("resilinet_cli.models.mlp", {1: (1, 2, 3, 4), 2: (2, 3, 2, 3)}),
}
