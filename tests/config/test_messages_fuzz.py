"""Random mutations of valid configs: each one passes validation or fails with one line per
problem and exit code 2, never with a traceback."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from resilinet_cli.cli import main

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ["quickstart.yaml", "fashion_mobilenet.yaml", "scale_chain.yaml", "cifar_resnet.yaml"]
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(["iot", "edge", "fog1", "fog9", "cloud", "resilinet", "health", "0.9"]),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    """Every key path in a nested config (list items by index)."""
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


def mutate(config: dict, path: tuple, action: str, value: Any) -> dict:
    config = copy.deepcopy(config)
    *parents, last = path
    node = config
    for key in parents:
        node = node[key]
    if action == "delete":
        del node[last]
    elif action == "replace":
        node[last] = value
    elif isinstance(node, dict):  # add a sibling key (an unknown key, mostly)
        node[f"{last}x"] = value
    else:
        node.append(value)
    return config


@st.composite
def mutated_configs(draw: st.DrawFn) -> dict:
    raw = yaml.safe_load((ROOT / "configs" / draw(st.sampled_from(SEEDS))).read_text())
    for _ in range(draw(st.integers(1, 3))):
        candidates = paths(raw)
        if not candidates:
            break
        path = draw(st.sampled_from(candidates))
        action = draw(st.sampled_from(["delete", "replace", "add"]))
        raw = mutate(raw, path, action, draw(VALUES))
    return raw


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=mutated_configs())
def test_a_mutated_config_passes_or_fails_with_one_line_per_problem(tmp_path: Path, raw) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True))
    result = CliRunner().invoke(
        main, ["run", str(path), "--dry-run", "--out", str(tmp_path / "out")]
    )
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # an uncaught exception is the bug this test looks for
    if result.exit_code == 0:
        return
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), result.stderr
    assert "Traceback" not in result.stderr
