"""A data set of the user's own (``dataset: {name: files, path: ...}``): load time, memory and
the input pipeline, against issue 29's targets.

    python -m bench.own_data                            # 1,000,000 rows; 1,000 and 10,000 PNGs
    python -m bench.own_data --rows 100000 --images 1000,3000 --steps 20   # a quick run

It writes seeded data into a temporary folder: a table of ``--rows`` rows, 30 float feature
columns (float64, 4 decimals, as pandas would write them) and an integer label of 12 classes, as
Parquet and as CSV; and 32x32 RGB PNGs in 10 class folders, ``--images`` of them per case.
Each case runs in a fresh child process, which imports everything first (its peak RSS then is
the baseline) and then measures what a run pays:

- table: wall time of ``load_splits`` (SHA-256, read, checks, label mapping, seeded 80/10/10
  split) and peak RSS growth over the baseline, also as a multiple of the float32 feature
  arrays (rows x 30 x 4 bytes). Targets: <= 10 s and <= 2x the float32 features.
- pipeline: the tf.data training pipeline (``build_inputs``) on the loaded Parquet splits
  against training the Health MLP on it, in examples per second, as bench/input_pipeline.py
  measures the built-in data sets. Target: pipeline >= 3x training.
- images: peak RSS growth of ``load_splits`` (every image opened and verified once) and, when
  ``build_inputs`` takes ``ImageFiles``, of iterating one training epoch; the load time per
  1,000 images. Target: the same peak RSS for every image count (it streams).

Figures (2 cores, no GPU, shared; ``python -m bench.own_data``; docs/own-data.md has the table):
Parquet 1.1 s, +202 MB = 1.68x the float32 features; CSV 4.1 s, +208 MB = 1.73x; pipeline 10.0x
training; image folder 10,000 vs 1,000 PNGs: peak RSS 1.03x (load_splits plus one training
epoch: 766 vs 745 MB), load 0.17-0.18 s per 1,000 images.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import inspect
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import CONFIGS, peak_rss_mb, print_results

FEATURES = 30
CLASSES = 12
IMAGE_CLASSES = 10
FILES = "resilinet_cli.data.files"
MB = 1e6  # the MB: 1,000,000 x 30 x 4 bytes = 120 MB


# ---------------------------------------------------------------- data


def write_table(folder: Path, rows: int) -> dict[str, Path]:
    """The same seeded table as Parquet and as CSV."""
    import pyarrow as pa
    import pyarrow.csv as pv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(0)
    columns = {f"f{i:02d}": np.round(rng.standard_normal(rows), 4) for i in range(FEATURES)}
    columns["label"] = rng.integers(0, CLASSES, rows)
    table = pa.table(columns)
    paths = {"parquet": folder / "table.parquet", "csv": folder / "table.csv"}
    pq.write_table(table, paths["parquet"])
    pv.write_csv(table, paths["csv"])
    return paths


def write_images(folder: Path, count: int) -> Path:
    """``count`` seeded 32x32 RGB PNGs, spread over 10 class folders."""
    from PIL import Image

    rng = np.random.default_rng(count)
    for i in range(count):
        cls = folder / f"class_{i % IMAGE_CLASSES}"
        cls.mkdir(parents=True, exist_ok=True)
        pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(cls / f"{i:05d}.png")
    return folder


# ---------------------------------------------------------------- children


def rss_mb() -> float:
    """Peak RSS so far in the issue's MB (Linux reports KiB)."""
    return peak_rss_mb() * 1024 * 1024 / MB


def dataset(path: Path) -> Any:
    from resilinet_cli.config.schema import DatasetConfig

    if path.is_dir():
        return DatasetConfig(name="files", path=path)
    return DatasetConfig(name="files", path=path, label="label")


def image_pipeline_available() -> bool:
    """Whether this checkout's ``build_inputs`` takes an image folder's ``ImageFiles``."""
    from resilinet_cli.training.inputs import build_inputs

    return "ImageFiles" in str(inspect.signature(build_inputs).parameters["splits"].annotation)


def preimport(*modules: str) -> None:
    """Import what loading imports, so that the baseline RSS holds the code, not the data."""
    for name in modules:
        importlib.import_module(name)


def child_table(path: Path) -> dict[str, Any]:
    preimport("pyarrow.csv", "pyarrow.parquet", "sklearn.model_selection", FILES)
    from resilinet_cli.data.registry import load_splits

    spec = dataset(path)
    gc.collect()
    baseline = rss_mb()
    start = time.perf_counter()
    splits = load_splits(spec)
    seconds = time.perf_counter() - start
    features = sum(getattr(splits, f"x_{s}").nbytes for s in ("train", "val", "test")) / MB
    growth = rss_mb() - baseline
    return {
        "seconds": seconds,
        "baseline_mb": baseline,
        "growth_mb": growth,
        "features_mb": features,
        "multiple": growth / features,
        "rows": sum(len(getattr(splits, f"y_{s}")) for s in ("train", "val", "test")),
    }


def child_pipeline(path: Path, steps: int) -> dict[str, Any]:
    from bench.input_pipeline import pipeline_and_training
    from resilinet_cli.config import load_config
    from resilinet_cli.data.registry import load_splits

    splits = load_splits(dataset(path))
    config = load_config(CONFIGS / "health.yaml")
    pipeline, training = pipeline_and_training(
        config, splits, splits.num_classes, steps, whole_epoch=True
    )
    return {
        "batch": config.train.batch_size,
        "pipeline_examples_per_s": pipeline,
        "train_examples_per_s": training,
        "pipeline_over_train": pipeline / training,
    }


def child_images(path: Path) -> dict[str, Any]:
    preimport("PIL.Image", "sklearn.model_selection", FILES)
    from resilinet_cli.data.registry import load_splits

    iterate = image_pipeline_available()
    if iterate:  # TensorFlow and the config belong to the baseline
        from resilinet_cli.config import load_config
        from resilinet_cli.training.inputs import build_inputs

        config = load_config(CONFIGS / "cifar_mobilenet.yaml")
        config = config.model_copy(update={"dataset": dataset(path)})
    gc.collect()
    baseline = rss_mb()
    start = time.perf_counter()
    splits = load_splits(dataset(path))
    seconds = time.perf_counter() - start
    load_growth = rss_mb() - baseline
    batches = 0
    if iterate:
        inputs = build_inputs(splits, config, len(config.topology.failable), seed=0)
        for _ in inputs.train_epoch(0):
            batches += 1
    return {
        "images": len(splits.y_train) + len(splits.y_val) + len(splits.y_test),
        "seconds": seconds,
        "baseline_mb": baseline,
        "load_growth_mb": load_growth,
        "growth_mb": rss_mb() - baseline,
        "epoch_iterated": int(iterate),
        "batches": batches,
    }


def in_child(case: str, path: Path, *extra: str) -> dict[str, Any]:
    """Run one case in a fresh interpreter; its last stdout line is the JSON result.

    Writing the data happens in a child too: Linux carries a parent's peak RSS over into a
    child's ``ru_maxrss``, so the parent must stay small for the children's baselines to hold.
    """
    command = [sys.executable, "-m", "bench.own_data", "--child", case, str(path), *extra]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"{case} {path} failed:\n{done.stderr}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{case} {path.name}: {json.dumps(result)}", flush=True)
    return result


def run_child(case: str, path: Path, args: argparse.Namespace) -> dict[str, Any]:
    if case == "write-table":
        return {fmt: str(p) for fmt, p in write_table(path, args.rows).items()}
    if case == "write-images":
        return {"folder": str(write_images(path, args.count))}
    if case == "table":
        return child_table(path)
    if case == "pipeline":
        return child_pipeline(path, args.steps)
    return child_images(path)


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the table")
    parser.add_argument("--images", default="1000,10000", help="image counts, comma-separated")
    parser.add_argument("--steps", type=int, default=40, help="training steps per timed epoch")
    parser.add_argument("--cases", default="tables,pipeline,images", help="which to run")
    parser.add_argument("--child", nargs=2, metavar=("CASE", "PATH"), help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child[0], Path(args.child[1]), args)))
        return

    cases = set(args.cases.split(","))
    counts = [int(n) for n in args.images.split(",") if n]
    tables: dict[str, dict[str, Any]] = {}
    pipe: dict[str, Any] = {}
    images: dict[int, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="own_data_") as tmp:
        folder = Path(tmp)
        if cases & {"tables", "pipeline"}:
            paths = {
                k: Path(v)
                for k, v in in_child("write-table", folder, "--rows", str(args.rows)).items()
            }
            if "tables" in cases:
                tables = {fmt: in_child("table", path) for fmt, path in paths.items()}
            if "pipeline" in cases:
                pipe = in_child("pipeline", paths["parquet"], "--steps", str(args.steps))
            for path in paths.values():
                path.unlink()
        if "images" in cases:
            for n in counts:
                made = in_child("write-images", folder / f"images_{n}", "--count", str(n))
                images[n] = in_child("images", Path(made["folder"]))
    report(args, tables, pipe, images)


def report(
    args: argparse.Namespace,
    tables: dict[str, dict[str, Any]],
    pipe: dict[str, Any],
    images: dict[int, dict[str, Any]],
) -> None:
    rows: list[dict[str, Any]] = []
    if tables:
        print()
        print(
            f"Table: {args.rows:,} rows x {FEATURES} float features + label ({CLASSES} classes);"
            " the targets are for 1,000,000 rows"
        )
        print(f"{'format':<9}{'load s':>8}{'RSS growth MB':>15}{'float32 MB':>12}{'multiple':>10}")
    for fmt, r in tables.items():
        ok = r["seconds"] <= 10 and r["multiple"] <= 2
        print(
            f"{fmt:<9}{r['seconds']:>8.2f}{r['growth_mb']:>15.0f}{r['features_mb']:>12.0f}"
            f"{r['multiple']:>10.2f}  {'ok' if ok else 'MISS (target <= 10 s, <= 2.0x)'}"
        )
        rows.append({"case": fmt, "rows": args.rows, **r})
    if pipe:
        print()
        ok = pipe["pipeline_over_train"] >= 3
        print(
            f"Pipeline on the Parquet splits, one whole epoch (Health MLP, batch {pipe['batch']}): "
            f"{pipe['pipeline_examples_per_s']:.0f} ex/s vs training "
            f"{pipe['train_examples_per_s']:.0f} ex/s = {pipe['pipeline_over_train']:.1f}x  "
            f"{'ok' if ok else 'MISS (target 3.0)'}"
        )
        rows.append({"case": "pipeline", **pipe})
    if images:
        print()
        iterated = all(r["epoch_iterated"] for r in images.values())
        what = "load_splits + one training epoch" if iterated else "load_splits only"
        print(f"Image folder (32x32 RGB PNG, {IMAGE_CLASSES} classes): peak RSS of {what}")
        print(
            f"{'images':>8}{'load s':>8}{'s/1k':>7}{'baseline MB':>13}{'load +MB':>10}"
            f"{'peak +MB':>10}{'peak MB':>9}{'batches':>9}"
        )
    for n, r in images.items():
        print(
            f"{n:>8}{r['seconds']:>8.2f}{1000 * r['seconds'] / n:>7.2f}{r['baseline_mb']:>13.0f}"
            f"{r['load_growth_mb']:>10.1f}{r['growth_mb']:>10.1f}"
            f"{r['baseline_mb'] + r['growth_mb']:>9.0f}{r['batches']:>9}"
        )
        rows.append({"case": f"images_{n}", **r})
    if len(images) > 1:
        (small, first), *_, (large, last) = images.items()
        peak = (last["baseline_mb"] + last["growth_mb"]) / (
            first["baseline_mb"] + first["growth_mb"]
        )
        print(
            f"{large:,} / {small:,} images: peak RSS {peak:.3f}x; growth over the baseline "
            f"{last['growth_mb']:.1f} / {first['growth_mb']:.1f} MB (target: the same peak)"
        )
    print_results(rows)


if __name__ == "__main__":
    main()
