"""Fashion-MNIST from its four IDX gzip files.

Why: the real distribution format (IDX, big-endian header, then raw uint8 data), read with
`np.frombuffer`, so no pickle and no TensorFlow are needed. Train (60k) and test (10k) are
concatenated and split 80/10/10 with the seed, the protocol the paper uses for CIFAR-10.
x is float32 (n, 28, 28, 1) in [0, 1]; y is 0..9.

Checksums: `md5` is the one published in the Fashion-MNIST README and `sha256` is that of the
same official file (the bytes the Keras mirror serves); downloads are verified against both.
Debian's `dataset-fashion-mnist` ships the same data re-packed by strip-nondeterminism (gzip
header without file name and with another mtime; same deflate stream), so its files have other
digests (`debian_sha256`); `content_sha256` is the digest of the decompressed IDX data, equal
for both. Local files are validated by structure (magic number, dimensions, sizes), not by digest.
"""

from __future__ import annotations

import gzip
import math
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from resilinet_cli.data.download import fetch
from resilinet_cli.data.locate import cache_dir, candidate_dirs, describe, find_first
from resilinet_cli.data.splits import Splits, make_splits
from resilinet_cli.errors import DataError

NAME = "fashion_mnist"
SUBFOLDER = "fashion-mnist"
NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28)
BASE_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
SYSTEM_DIRS: tuple[Path, ...] = (Path("/usr/share/datasets/fashion-mnist"),)

IMAGES_MAGIC = 0x00000803  # unsigned byte, 3 dimensions
LABELS_MAGIC = 0x00000801  # unsigned byte, 1 dimension


@dataclass(frozen=True)
class IdxFile:
    """One of the four files and its pinned digests (see the module docstring)."""

    name: str
    magic: int
    sha256: str
    md5: str
    debian_sha256: str
    content_sha256: str


TRAIN_IMAGES = IdxFile(
    "train-images-idx3-ubyte.gz",
    IMAGES_MAGIC,
    sha256="3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    md5="8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    debian_sha256="b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
    content_sha256="c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
)
TRAIN_LABELS = IdxFile(
    "train-labels-idx1-ubyte.gz",
    LABELS_MAGIC,
    sha256="a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    md5="25c81989df183df01b3e8a0aad5dffbe",
    debian_sha256="0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
    content_sha256="bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
)
TEST_IMAGES = IdxFile(
    "t10k-images-idx3-ubyte.gz",
    IMAGES_MAGIC,
    sha256="346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    md5="bef4ecab320f06d8554ea6380940ec79",
    debian_sha256="cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    content_sha256="5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
)
TEST_LABELS = IdxFile(
    "t10k-labels-idx1-ubyte.gz",
    LABELS_MAGIC,
    sha256="67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    md5="bb300cfdad3c16e7a12a480ee83cd310",
    debian_sha256="8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
    content_sha256="0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
)
FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

_FIX = "delete it and download it again (or copy it from the official Fashion-MNIST release)"


def read_idx(path: Path, magic: int) -> np.ndarray:
    """Parse one gzip-compressed IDX file of unsigned bytes; validate magic and size."""
    try:
        raw = gzip.decompress(Path(path).read_bytes())
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: not a complete gzip file ({exc}); {_FIX}") from exc
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc}); check the file") from exc
    if len(raw) < 4:
        raise DataError(f"{path}: truncated IDX header ({len(raw)} bytes); {_FIX}")
    found = int.from_bytes(raw[:4], "big")
    if found != magic:
        raise DataError(
            f"{path}: bad IDX magic number 0x{found:08x} (expected 0x{magic:08x}); {_FIX}"
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DataError(f"{path}: truncated IDX header ({len(raw)} bytes); {_FIX}")
    dims = struct.unpack(f">{ndim}I", raw[4:header])
    expected = math.prod(dims)
    if len(raw) - header != expected:
        raise DataError(
            f"{path}: IDX data has {len(raw) - header} bytes, header shape {dims} needs "
            f"{expected}; {_FIX}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def read_pair(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read matching image and label files: (n, 28, 28) uint8 and (n,) uint8 in 0..9."""
    images = read_idx(images_path, IMAGES_MAGIC)
    labels = read_idx(labels_path, LABELS_MAGIC)
    if images.shape[1:] != IMAGE_SHAPE:
        raise DataError(
            f"{images_path}: images are {images.shape[1]}x{images.shape[2]}, expected 28x28; "
            "use the Fashion-MNIST files"
        )
    if len(images) != len(labels):
        raise DataError(
            f"{labels_path}: {len(labels)} labels for {len(images)} images in {images_path}; "
            "the two files do not belong together"
        )
    if len(labels) and int(labels.max()) >= NUM_CLASSES:
        raise DataError(f"{labels_path}: label {int(labels.max())} is out of range 0..9; {_FIX}")
    return images, labels


def _is_complete(folder: Path) -> bool:
    return all((folder / f.name).is_file() for f in FILES)


def locate(data_dir: Path | None, download: bool) -> Path:
    """The folder that holds all four files, downloading them into the cache if allowed."""
    candidates = candidate_dirs(SUBFOLDER, data_dir, SYSTEM_DIRS)
    found = find_first(candidates, _is_complete)
    if found is not None:
        return found
    cache = cache_dir(SUBFOLDER)
    names = ", ".join(f.name for f in FILES)
    if not download:
        raise DataError(
            f"Fashion-MNIST not found (looked in: {describe(candidates)}); download {names} "
            f"from {BASE_URL} into {cache}, or pass --data-dir"
        )
    for f in FILES:
        dest = cache / f.name
        if not dest.is_file():
            fetch(
                BASE_URL + f.name,
                dest,
                sha256=f.sha256,
                md5=f.md5,
                manual=f"download {names} from {BASE_URL} into {cache}, or pass --data-dir",
            )
    return cache


def load_arrays(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Train then test, concatenated: x float32 (n, 28, 28, 1) in [0, 1], y int64."""
    train_x, train_y = read_pair(folder / TRAIN_IMAGES.name, folder / TRAIN_LABELS.name)
    test_x, test_y = read_pair(folder / TEST_IMAGES.name, folder / TEST_LABELS.name)
    x = np.concatenate([train_x, test_x]).astype(np.float32)
    x /= np.float32(255.0)
    y = np.concatenate([train_y, test_y]).astype(np.int64)
    return x[..., np.newaxis], y


def load(data_dir: Path | None = None, download: bool = True, split_seed: int = 42) -> Splits:
    """Find (or download) the files, read them and split 80/10/10."""
    x, y = load_arrays(locate(data_dir, download))
    return make_splits(NAME, x, y, NUM_CLASSES, split_seed)
