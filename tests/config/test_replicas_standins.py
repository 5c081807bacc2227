"""Bad standby replicas and stand-ins are one line, exit 2, before any training (issue 31); the
new keys leave every other config's hash alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from resilinet_cli.cli import main
from resilinet_cli.config import load_config
from resilinet_cli.models.builder import build_from_config
from resilinet_cli.variants import stand_in_links, topology_of

BASE = "name: t\ntopology: health\ndataset: {name: digits}\nmodel: {name: mlp, hidden_units: 8}\n"
# Health with fog2 never failing: a node of the topology that is not failable
STEADY_FOG2 = """\
name: t
dataset: {name: digits}
model: {name: mlp, hidden_units: 8}
topology:
  nodes: [iot, edge, fog2, fog1, cloud]
  links: [[iot, edge], [edge, fog2], [fog2, fog1], [fog1, cloud]]
  skips: [[iot, fog2], [edge, fog1], [fog2, cloud]]
  failable: [fog1, edge]
  reliability: {no_failure: [1.0, 1.0], hazardous: [0.85, 0.78]}
"""
# two chain links into fog: a stand-in on Vanilla can predict a's output from b's and back
DIAMOND = """\
name: t
dataset: {name: digits}
model: {name: mlp, hidden_units: 8}
topology:
  nodes: [iot, a, b, fog, cloud]
  links: [[iot, a], [iot, b], [a, fog], [b, fog], [fog, cloud]]
  failable: [a, b, fog]
  reliability: {no_failure: [1.0, 1.0, 1.0], hazardous: [0.8, 0.8, 0.9]}
"""


def defining(variant: str, body: str, base: str = BASE, extra: str = "") -> str:
    """A config that runs one variant defined under ``techniques:`` by ``body``."""
    return base + f"variants: [{variant}]\ntechniques:\n  {variant}: {body}\n" + extra


def run(tmp_path: Path, text: str) -> tuple[int, str, Path]:
    """``resilinet run`` on ``text``: exit code, stderr and the output folder."""
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(out)])
    return result.exit_code, result.stderr, out


RACK = "failure_models:\n  rack: {common_cause: [{nodes: [edge, edge_r3], probability: 0.1}]}\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            defining("v+r", "{base: vanilla, replicas: {fog2: 2}}", STEADY_FOG2),
            "techniques.v+r.replicas.fog2: 'fog2' is not in topology.failable, so it never "
            "fails: replicate a failable node (fog1, edge)",
            id="not-failable",
        ),
        pytest.param(
            defining("v+r", "{base: vanilla, replicas: {cloud: 2}}"),
            "techniques.v+r.replicas.cloud: 'cloud' is the input or output node, which never "
            "fails: replicate a failable node (fog1, fog2, edge)",
            id="the-cloud",
        ),
        pytest.param(
            defining("v+r", "{base: vanilla, replicas: {iot: 2}}"),
            "techniques.v+r.replicas.iot: 'iot' is the input or output node",
            id="the-input",
        ),
        pytest.param(
            defining("v+r", "{base: vanilla, replicas: {fgo1: 2}}"),
            "techniques.v+r.replicas.fgo1: unknown failable node 'fgo1' (did you mean 'fog1'?",
            id="unknown-node",
        ),
        pytest.param(
            defining("v+r", "{base: vanilla, replicas: {edge: 1}}"),
            "techniques.v+r.replicas.edge: needs at least 2 replicas (the primary and a "
            "standby), got 1",
            id="one-replica",
        ),
        pytest.param(
            defining("v+r", "{base: vanilla, replicas: {edge: 40}}"),
            "techniques.v+r.replicas.edge: at most 4 replicas per node (each doubles the "
            "combinations), got 40",
            id="forty-replicas",
        ),
        pytest.param(
            defining("v+r", "{base: vanilla, replicas: {edge: 2}, standby: {edge: {width: 0}}}"),
            "techniques.v+r.standby.edge.width: Input should be greater than 0",
            id="width-0",
        ),
        pytest.param(
            defining("v+r", "{base: vanilla, replicas: {edge: 2}, standby: {edge: {width: 1.5}}}"),
            "techniques.v+r.standby.edge.width: Input should be less than or equal to 1",
            id="width-1.5",
        ),
        pytest.param(
            defining("v+r", "{base: vanilla, replicas: {edge: 2}, standby: {fog1: {width: 0.5}}}"),
            "techniques.v+r.standby.fog1: 'fog1' has no standby: list it under replicas first",
            id="standby-without-replicas",
        ),
        pytest.param(
            defining("v+s", "{base: vanilla, stand_in: true}"),
            "techniques.v+s.stand_in: no node of vanilla's topology receives two inputs with a "
            "failable sender, so a stand-in has nothing to predict from (Vanilla's nodes each "
            "receive one, unless topology.links joins two into a node); use a base with skips",
            id="stand-in-on-vanilla",
        ),
        pytest.param(
            defining("r+s", "{base: resilinet, stand_in: ['iot->fog2']}"),
            "techniques.r+s.stand_in[0]: unknown stand-in slot 'iot->fog2' (did you mean "
            "'fog2->fog1'? known: edge->fog2, fog2->fog1, fog1->cloud): a slot is a link from a "
            "failable sender (or a failable link) into a node with another input; on a mux, "
            "only the node's chain link",
            id="stand-in-not-a-slot",
        ),
        pytest.param(
            defining("d+s", "{base: deepfogguard, stand_in: ['edge->fog2', 'edge->fog3']}"),
            "techniques.d+s.stand_in[1]: unknown stand-in slot 'edge->fog3' (did you mean "
            "'edge->fog2'? known: edge->fog2, fog2->fog1, edge->fog1, fog1->cloud, fog2->cloud)",
            id="stand-in-no-such-link",
        ),
        pytest.param(
            defining("v+r", "{base: vanilla, replicas: {edge: 2}}", extra=RACK),
            "failure_models.rack.common_cause[0].nodes: unknown failable node 'edge_r3' (did you "
            "mean 'edge_r2'? known: fog1, fog2, edge, edge_r2)",
            id="failure-model-names-a-missing-replica",
        ),
        pytest.param(
            defining(
                "v+r",
                "{base: vanilla, replicas: {edge: 2}}",
                extra="failure_models:\n  rack: {survival: {edge_r3: 0.5}}\n",
            ),
            "failure_models.rack.survival.edge_r3: unknown node 'edge_r3' (did you mean 'edge_r2'?",
            id="survival-of-a-missing-replica",
        ),
        pytest.param(
            defining(
                "v+r",
                "{base: vanilla, replicas: {edge: 2}}",
                extra="failure_models:\n  j: {joint: {'111': 0.9, '011': 0.1}}\n",
            ),
            "failure_models.j.joint.111: expected a bit string of 4 failable-node flags (fog1, "
            "fog2, edge, edge_r2)",
            id="joint-table-without-the-replica",
        ),
        pytest.param(
            defining("v+r", "{base: vanilla, replicas: {edge: 2}, exits: [fog1]}"),
            "techniques.v+r.exits: exits do not combine with replicas or stand-ins in one "
            "variant yet",
            id="exits-with-replicas",
        ),
        pytest.param(
            defining("r+s", "{base: resilinet, stand_in: true, exits: [edge]}"),
            "techniques.r+s.exits: exits do not combine with replicas or stand-ins",
            id="exits-with-stand-ins",
        ),
    ],
)
def test_bad_input_is_one_line_before_any_training(tmp_path: Path, text, message) -> None:
    code, stderr, out = run(tmp_path, text)
    assert code == 2
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: exp.yaml: {message}")
    assert not (out / "runs").exists()


def test_stand_ins_on_vanilla_need_two_chain_links_into_a_node(tmp_path: Path) -> None:
    text = defining("v+s", "{base: vanilla, stand_in: true}", DIAMOND)
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path), "--dry-run"])
    assert result.exit_code == 0, result.stderr
    assert "1 of 1 units to train" in result.output
    config = load_config(path)
    variant = config.variant("v+s")
    assert stand_in_links(variant, topology_of(config, "v+s")) == ["a->fog", "b->fog"]
    model, _ = build_from_config(config, "v+s", input_shape=(8,), num_classes=3, seed=0)
    names = {layer.name for layer in model.layers}
    assert {"a_fog_stand_in", "b_fog_stand_in", "a_fog_stand_in_out"} <= names


def test_a_failure_model_may_take_a_node_and_its_standby_down_together(tmp_path: Path) -> None:
    rack = "failure_models:\n  rack: {common_cause: [{nodes: [edge, edge_r2], probability: 0.1}]}\n"
    path = tmp_path / "exp.yaml"
    path.write_text(defining("v+r", "{base: vanilla, replicas: {edge: 2}}", extra=rack))
    result = CliRunner().invoke(main, ["run", str(path), "--out", str(tmp_path), "--dry-run"])
    assert result.exit_code == 0, result.stderr


NEW_KEYS = {"replicas", "standby", "stand_in", "reconstruction"}


def test_the_new_keys_at_their_defaults_leave_the_hash_alone(tmp_path: Path) -> None:
    """A definition without the new keys hashes as before they existed: they are left out of
    ``to_dict`` at their defaults, so writing them out at their defaults changes nothing."""
    exits = BASE + "variants: [vanilla+exits]\ntechniques:\n  vanilla+exits: {exits: [edge]}\n"
    spelled = exits.replace(
        "{exits: [edge]}",
        "{exits: [edge], replicas: {}, standby: {}, stand_in: false, reconstruction: 0.0}",
    )
    plain_path, spelled_path = tmp_path / "plain.yaml", tmp_path / "spelled.yaml"
    plain_path.write_text(exits)
    spelled_path.write_text(spelled)
    plain = load_config(plain_path)
    assert not NEW_KEYS & set(plain.to_dict()["techniques"]["vanilla+exits"])
    assert load_config(spelled_path).digest() == plain.digest()
    replicated = tmp_path / "replicated.yaml"
    replicated.write_text(exits.replace("{exits: [edge]}", "{replicas: {edge: 2}}"))
    assert load_config(replicated).digest() != plain.digest()
