"""`resilinet search` refuses bad input in one line with exit code 2, before anything trains;
its dry run lists the candidates after pruning."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from search_helpers import GRID_SPACE, SMALL_CONFIG, with_changes, write

from resilinet_cli.cli import main


def search(tmp_path: Path, space: dict, config: dict = SMALL_CONFIG, *extra: str):
    config_file = write(tmp_path, "config.yaml", config)
    space_file = write(tmp_path, "space.yaml", space)
    args = ["search", str(config_file), "--space", str(space_file), "--out",
            str(tmp_path / "out"), *extra]  # fmt: skip
    return CliRunner().invoke(main, args)


def dims(**changes):
    return {**GRID_SPACE["dimensions"], **changes}


UNKNOWN_SKIP = "unknown skip hyperconnection 'iot->fog1' (did you mean 'iot->fog2'?"
CASES = [
    ({"sampel": "tpe"}, "sampel: unknown key 'sampel' (did you mean 'sampler'?"),
    ({"sampler": "tpee"}, "sampler: unknown"),
    ({"dimensions": dims(failout=[1.5])}, "dimensions.failout[0]: Input should be less than"),
    ({"dimensions": dims(skips=[["iot->fog1"]])}, f"dimensions.skips[0]: {UNKNOWN_SKIP}"),
    ({"dimensions": dims(variant=["resilinett"])}, "dimensions.variant[0]:"),
    ({"dimensions": dims(partition=[3])}, "dimensions.partition[0]: the mlp family has"),
    ({"dimensions": dims(cut=[{"iot": "a"}])}, "dimensions.cut: the mlp family has no cut"),
    ({"dimensions": dims(epochs=[])}, "dimensions.epochs: give at least one value"),
    ({"objective": "hazardus"}, "objective: unknown objective 'hazardus' (did you mean"),
    ({"minimise": ["flops_fog3"]}, "minimise[0]: unknown cost 'flops_fog3'"),
    ({"minimise": ["energy"]}, "minimise: unknown cost 'energy'"),
    ({"trials": 4}, "trials: a grid runs every candidate"),
    ({"sampler": "tpe"}, "trials: say how many trials the tpe runs"),
    (
        {"sampler": "nsga2", "trials": 24, "population": 20},
        "sampler: nsga2 with population 20 needs at least 40 trials",
    ),
    ({"constraints": {"max_flops": {"fogg": 1}}}, "constraints.max_flops.fogg: unknown device"),
    ({"constraints": {"max_latency_ms": 1}}, "0 of 8 candidates fit: the smallest latency_ms is"),
    (
        {"constraints": {"max_flops": {"edge": 1, "cloud": 1e12}}},
        "0 of 8 candidates fit: the smallest flops_edge is",
    ),
]


@pytest.mark.parametrize(("changes", "message"), CASES)
def test_a_bad_space_is_refused_in_one_line(tmp_path, changes, message) -> None:
    result = search(tmp_path, with_changes(GRID_SPACE, **changes))
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert f"space.yaml: {message}" in lines[0]
    assert not (tmp_path / "out").exists()  # nothing written, nothing trained


def test_a_cost_model_missing_a_link_is_refused(tmp_path) -> None:
    config = {**SMALL_CONFIG, "costs": {"devices": {n: {"flops_per_second": 1e9} for n in
              ("iot", "edge", "fog2", "fog1", "cloud")}}}  # fmt: skip
    config["base"] = SMALL_CONFIG["base"].replace("search/digits_mlp.yaml", "quickstart.yaml")
    result = search(tmp_path, GRID_SPACE, config)
    assert result.exit_code == 2, result.output
    assert "costs.links" in result.stderr and "resilinet measure" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_dry_run_lists_the_candidates_after_pruning(tmp_path) -> None:
    space = with_changes(GRID_SPACE, constraints={"max_latency_ms": 60})
    result = search(tmp_path, space, SMALL_CONFIG, "--dry-run")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if "resilinet partition=" in line]
    assert len(rows) == 8
    pruned = [row for row in rows if "latency_ms" in row.split()[-4:][0] or "> 60" in row]
    assert len(pruned) == 4  # every design with the slow iot->fog2 skip
    assert all("skips=iot->fog2" in row for row in pruned)
    assert "8 designs, 8 distinct trainings, 4 fit the constraints" in result.stdout
    assert not (tmp_path / "out").exists()


def test_resume_needs_a_search_folder(tmp_path) -> None:
    (tmp_path / "other").mkdir()
    result = CliRunner().invoke(main, ["search", "--resume", str(tmp_path / "other")])
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        .splitlines()[-1]
        .endswith("not a search folder (no search.json, config.yaml or space.yaml)")
    )


def test_a_search_folder_holding_another_search_is_refused(tmp_path) -> None:
    """The digest of CONFIG and the space names a folder's search: another one is refused
    before anything runs."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "search.json").write_text('{"digest": "0000"}', encoding="utf-8")
    config_file = write(tmp_path, "config.yaml", SMALL_CONFIG)
    space_file = write(tmp_path, "space.yaml", GRID_SPACE)
    args = ["search", str(config_file), "--space", str(space_file), "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "holds another search" in result.stderr


def test_a_designs_topology_is_its_configs(tmp_path) -> None:
    """The plan prices thousands of designs from CONFIG's topology less the skips a design
    leaves out, without building their configs: the same topology as each config's."""
    from resilinet_cli.config import load_config
    from resilinet_cli.search import candidates as cand
    from resilinet_cli.search.space import SearchSpace
    from resilinet_cli.variants import topology_of

    config = load_config(write(tmp_path, "config.yaml", SMALL_CONFIG))
    variants = ["vanilla", "deepfogguard", "resilinet"]
    skips = [[], ["iot->fog2"], ["edge->fog1", "fog2->cloud"]]
    dimensions = {**GRID_SPACE["dimensions"], "variant": variants, "skips": skips}
    space = SearchSpace.model_validate(with_changes(GRID_SPACE, dimensions=dimensions))
    designs = [cand.design_of(c, config, []) for c in cand.choices(space, config, [])]
    found, _ = cand.deduplicated(designs, config, "config.yaml")
    assert len(found) == 2 + 2 * 3 + 2 * 3 * 2  # vanilla has neither skips nor failout
    for candidate in found:
        expected = topology_of(candidate.config, candidate.design.variant)
        assert cand.design_topology(config, candidate.design) == expected
