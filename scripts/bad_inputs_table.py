"""Run the resilinet CLI on 39 bad inputs and print a Markdown table of what it printed.

    python scripts/bad_inputs_table.py WORK_DIR

Configs, data files in their real formats, model files and command-line values, each made
wrong in one way. Every case must end with exit code 2 and one line per problem, naming the
file and key (or the file and line, or the option). The tests check the same cases one by one;
this script shows them side by side, as a user meets them.
"""

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent
root = Path(sys.argv[1]).resolve()
root.mkdir(parents=True, exist_ok=True)
os.chdir(root)
R = shutil.which("resilinet") or str(Path(sys.executable).parent / "resilinet")
QS = REPO / "configs" / "quickstart.yaml"
base = yaml.safe_load(QS.read_text())
topo = yaml.safe_load(
    (REPO / "resilinet_cli" / "config" / "topologies" / "health.yaml").read_text()
)


def cfg(name: str, mutate: Callable[[dict], Any] | None = None, text: str | None = None) -> str:
    """Write the quickstart config (topology inlined) changed by ``mutate``, or ``text``."""
    p = root / f"{name}.yaml"
    if text is not None:
        p.write_text(text)
        return str(p)
    c = json.loads(json.dumps(base))
    c["topology"] = json.loads(json.dumps(topo))
    if mutate:
        mutate(c)
    p.write_text(yaml.safe_dump(c, sort_keys=False))
    return str(p)


def setk(path: str, value: Any) -> Callable[[dict], None]:
    """A mutation that sets the dotted key ``path`` to ``value``."""

    def m(c: dict) -> None:
        d = c
        keys = path.split(".")
        for k in keys[:-1]:
            d = d[k]
        d[keys[-1]] = value

    return m


def skips(s: list[list[str]]) -> Callable[[dict], None]:
    return setk("topology.skips", s)


cases: list[tuple[str, int, str]] = []


def case(label: str, args: list[str]) -> None:
    """Run ``resilinet ARGS`` and keep its exit code and what it printed."""
    r = subprocess.run([R, *args], capture_output=True, text=True)
    msg = r.stderr.strip() or r.stdout.strip()
    cases.append((label, r.returncode, msg))
    print(f"{label}: rc={r.returncode} lines={len(msg.splitlines())}", file=sys.stderr)


dry = ["--dry-run"]
case(
    "unknown key (typo)",
    ["run", cfg("typo", lambda c: c["train"].update(epoch=3) or c["train"].pop("epochs")), *dry],
)
case("wrong type", ["run", cfg("type", setk("train.epochs", "ten")), *dry])
case(
    "reliability above 1",
    ["run", cfg("rel", setk("topology.reliability.normal", [0.99, 1.2, 0.92])), *dry],
)
case(
    "reliability vector of wrong length",
    ["run", cfg("rellen", setk("topology.reliability.poor", [0.9, 0.9])), *dry],
)
case("failout survival 0", ["run", cfg("surv", setk("train.failout.survival", 0)), *dry])
case("epochs 0", ["run", cfg("ep0", setk("train.epochs", 0)), *dry])
case("batch size negative", ["run", cfg("bs", setk("train.batch_size", -64)), *dry])
case(
    "cyclic topology",
    ["run", cfg("cyc", lambda c: c["topology"]["links"].append(["fog1", "edge"])), *dry],
)
case(
    "node unreachable from the input",
    ["run", cfg("unreach", lambda c: c["topology"]["links"].remove(["iot", "edge"])), *dry],
)
case(
    "skip link that skips nothing",
    ["run", cfg("skipnone", skips([["iot", "edge"], ["edge", "fog1"], ["fog2", "cloud"]])), *dry],
)
case(
    "skip link pointing backwards",
    ["run", cfg("skipback", skips([["fog2", "iot"], ["edge", "fog1"], ["fog2", "cloud"]])), *dry],
)
case(
    "skip to an unknown node",
    ["run", cfg("skipunk", skips([["iot", "fog3"], ["edge", "fog1"], ["fog2", "cloud"]])), *dry],
)
case("unknown variant", ["run", cfg("var", setk("variants", ["resilinet", "resnet"])), *dry])
case("unknown model", ["run", cfg("model", setk("model.name", "vgg")), *dry])
case("unknown dataset", ["run", cfg("ds", setk("dataset.name", "mnist")), *dry])
case("partition that does not exist", ["run", cfg("part", setk("model.partition", 9)), *dry])
case(
    "duplicate node names",
    ["run", cfg("dup", setk("topology.nodes", ["iot", "edge", "fog2", "fog2", "cloud"])), *dry],
)
case(
    "several problems at once",
    [
        "run",
        cfg(
            "many",
            lambda c: (
                setk("train.epochs", 0)(c),
                setk("train.batch_size", 0)(c),
                setk("model.name", "vgg")(c),
            ),
        ),
        *dry,
    ],
)
case("empty file", ["run", cfg("empty", text=""), *dry])
case("YAML syntax error", ["run", cfg("syntax", text="name: x\ntrain:\n  epochs: [3\n"), *dry])
case(
    "YAML tag that would build an object",
    ["run", cfg("tag", text="name: !!python/object/apply:os.system ['echo pwned']\n"), *dry],
)
case("--set unknown key", ["run", str(QS), "--set", "train.lr=0.1", *dry])
case("--set wrong type", ["run", str(QS), "--set", "train.batch_size=big", *dry])
case("--set without '='", ["run", str(QS), "--set", "train.epochs", *dry])
case("config file that does not exist", ["run", "nope.yaml", *dry])
case("--variants unknown", ["run", str(QS), "--variants", "resilinet,fogguard", *dry])
case("--iterations reversed range", ["run", str(QS), "--iterations", "3..1", *dry])
# data files
logs = root / "mh"
logs.mkdir(exist_ok=True)
rows = np.zeros((30, 24))
rows[:, 23] = np.arange(30) % 13
for s in range(1, 11):
    (logs / f"mHealth_subject{s}.log").write_text(
        "\n".join("\t".join(f"{v:g}" for v in r) for r in rows) + "\n"
    )
bad = logs / "mHealth_subject3.log"
lines = bad.read_text().splitlines()
lines[4] = "\t".join(lines[4].split("\t")[:20])
bad.write_text("\n".join(lines) + "\n")
case("MHEALTH log with a missing column", ["data", "verify", "mhealth", "--data-dir", str(logs)])
lines[4] = lines[5].replace("0", "x", 1)
bad.write_text("\n".join(lines) + "\n")
case("MHEALTH log with a non-numeric field", ["data", "verify", "mhealth", "--data-dir", str(logs)])
cifar = root / "cifar"
cifar.mkdir(exist_ok=True)
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w:gz") as tar:
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        data = bytes(3073 * 10)
        info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
(cifar / "cifar-10-binary.tar.gz").write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
case("truncated CIFAR-10 archive", ["data", "verify", "cifar10", "--data-dir", str(cifar)])
batches = root / "cifar_b" / "cifar-10-batches-bin"
batches.mkdir(parents=True, exist_ok=True)
for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
    (batches / name).write_bytes(bytes(3073 * 10 + 100))
case(
    "CIFAR-10 batch file of the wrong size",
    ["data", "verify", "cifar10", "--data-dir", str(root / "cifar_b")],
)
imnet = root / "imagenet"
for split in ("train", "val"):
    for cls in ("n01440764", "n01443537"):
        (imnet / split / cls).mkdir(parents=True, exist_ok=True)
case("ImageNet folder with no images", ["data", "verify", "imagenet", "--data-dir", str(imnet)])
# command-line values and model files, in a trained run
run = root / "run"
subprocess.run(
    [R, "run", str(QS), "--out", str(run), "--smoke", "--variants", "resilinet"],
    capture_output=True,
)
m = keras.Sequential(
    [keras.Input((3,)), keras.layers.Lambda(lambda x: x * 2), keras.layers.Dense(2)]
)
(run / "extra").mkdir(exist_ok=True)
m.save(run / "extra" / "model.keras")
case("model file with a Lambda layer", ["evaluate", "run/extra/model.keras", "--failures", "all"])
(run / "broken").mkdir(exist_ok=True)
(run / "broken" / "model.keras").write_bytes(b"PK\x03\x04 not really a zip")
case("damaged model file", ["evaluate", "run/broken/model.keras", "--failures", "all"])
case("--failures names an unknown node", ["evaluate", str(run), "--failures", "fog3"])
case(
    "--reliability vector of wrong length",
    ["evaluate", str(run), "--failures", "all", "--reliability", "0.9,0.9"],
)
case(
    "--reliability value above 1",
    ["evaluate", str(run), "--failures", "all", "--reliability", "0.9,1.5,0.9"],
)
case(
    "--out holds another config's run",
    ["run", str(QS), "--out", str(run), "--set", "train.epochs=2"],
)
(root / "afile").write_text("x")
case("--out is a file", ["run", str(QS), "--out", str(root / "afile"), "--smoke"])
print("| # | bad input | exit | message |")
print("|---|---|---|---|")
for i, (label, rc, msg) in enumerate(cases, 1):
    m = msg.replace("|", "\\|").replace("\n", "<br>")
    print(f"| {i} | {label} | {rc} | `{m}` |")
