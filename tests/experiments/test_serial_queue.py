"""A serial run (no --workers, no Ray) prints the queue line a pool and a cluster print: how
many units are done, still to go and failed, and the time left at the pace so far."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner
from run_helpers import smoke_command

from resilinet_cli.cli import main


def test_a_serial_run_prints_the_queue_line_after_each_unit(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(main, smoke_command(out, "--iterations", "1"))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    queue = [line for line in lines if line.startswith("queue: ")]
    assert len(queue) == 2, result.stdout
    assert re.fullmatch(r"queue: 1 done, 1 in flight, 0 failed of 2; about \d+:\d\d left", queue[0])
    assert queue[1] == "queue: 2 done, 0 in flight, 0 failed of 2"
    # each line comes right after the unit it counts
    first = next(i for i, line in enumerate(lines) if line.startswith("[1/2] vanilla/iter-1: acc"))
    assert lines[first + 1] == queue[0]
