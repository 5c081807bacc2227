"""The version of the training code: a finished unit is reused only by code of the same version.

A unit's files (model, history, per-combination accuracies) depend on its config, which the
config hash covers, and on the code that trains and sweeps it, which ``TRAINING_VERSION`` covers.
Every unit record stores the version that made it; resuming a run, copying a unit across
experiments and sweeping an interrupted unit's saved model all require it to equal this one.

Bump ``TRAINING_VERSION`` whenever a change to the code could change any unit's results (a
layer, an initialiser, the data pipeline, the seeds, the sweep). ``FINGERPRINT`` is a SHA-256 over
the files in ``SOURCES``; ``tests/test_training_version.py`` fails when they change, so that
nobody changes them without deciding. Print the current one with
``python -m resilinet_cli.training_version``.

History: 1 (implied by records without the field): the code before per-epoch seeds, which made
the first committed ``results/quick``. 2: per-epoch seeds; fog padding independent of the skips
(MobileNet); reference initialiser for ResNet-18's skip convolutions; made today's
``results/quick``. A bump comes with a regenerated ``results/quick``, the reference that
``make reproduce-paper PROFILE=quick`` compares with (a test checks their versions agree).
Within 2, the keras family's Dense skip projections lost their bias without a bump: no
committed result has one (the byom MobileNetV2 example's skips are 1x1 convolutions). Nor did
the input pipeline's stream of an image folder of the user's own (``ImageFiles``): the built-in
data sets' pipelines are unchanged, and own data is keyed by its SHA-256.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

TRAINING_VERSION = 2
FINGERPRINT = "4b78805848ce47821c86ac73cd2a641375d721a0c18b33e3edac25f4f06a85f5"

PACKAGE = Path(__file__).resolve().parent

# What a unit's files depend on besides its config: the layers and models, training and its
# resumption, the input pipeline and its seeds, the topology and hyperconnections, the failure
# sweep, and the dataset loaders with their split. Left out: where data lives or how it is
# downloaded (checksums pin the content), configs (the config hash covers them), the run's
# orchestration, reports and evaluation of saved models.
SOURCES = (
    "layers/*.py",
    "models/*.py",
    "training/*.py",
    "variants.py",
    "topology.py",
    "sweeps/sweep.py",
    "sweeps/plan.py",
    "sweeps/node_graph.py",
    "sweeps/exits.py",
    "sweeps/execution.py",
    "data/registry.py",
    "data/splits.py",
    "data/digits.py",
    "data/fashion_mnist.py",
    "data/cifar10.py",
    "data/mhealth.py",
    "data/imagenet.py",
    "data/files.py",
    "data/labels.py",
    "data/tables.py",
    "data/image_folder.py",
)


def source_files(package: Path = PACKAGE) -> list[Path]:
    """The files of ``SOURCES``, in a fixed order."""
    files = {path for pattern in SOURCES for path in package.glob(pattern)}
    return sorted(files, key=lambda path: path.relative_to(package).as_posix())


def fingerprint(package: Path = PACKAGE) -> str:
    """SHA-256 over the path and bytes of each source file (line endings normalised).

    Any edit, even to a comment, changes it: the test then asks whether results change.
    """
    digest = hashlib.sha256()
    for path in source_files(package):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0")
        digest.update(path.read_bytes().replace(b"\r\n", b"\n") + b"\0")
    return digest.hexdigest()


if __name__ == "__main__":
    sys.stdout.write(fingerprint() + "\n")
