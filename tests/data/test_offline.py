"""Offline, a missing dataset is one line and exit code 2, at once: a host that cannot be reached
(its name does not resolve, or the port refuses) is not retried and leaves no empty progress bar.

No test reaches the internet: downloads go to a name under ``.invalid`` (RFC 6761: it never
resolves) or to 127.0.0.1:1 (nothing listens there), into a temporary cache.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from paths import CONFIGS

from resilinet_cli.data.download import fetch
from resilinet_cli.errors import DataError

UNRESOLVABLE = "http://resilinet-test.invalid/cifar-10-binary.tar.gz"
REFUSED = "http://127.0.0.1:1/cifar-10-binary.tar.gz"
RETRY_WAIT_S = 3.0  # what pooch's two retries would wait (1 s, then 2 s)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        (UNRESOLVABLE, "the host name does not resolve: offline, or a wrong URL"),
        (REFUSED, "connection refused: offline, or the server is down"),
    ],
)
def test_an_unreachable_host_is_one_line_without_retries(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, why: str
) -> None:
    folder = tmp_path / "cache"
    start = time.monotonic()
    with pytest.raises(DataError) as info:
        fetch(url, folder / "data.tar.gz", sha256=None, manual="put it in X")
    elapsed = time.monotonic() - start
    assert str(info.value) == f"cannot download {url} ({why}); put it in X"
    assert elapsed < RETRY_WAIT_S, elapsed  # no retry waited for
    assert capsys.readouterr().err == ""  # no empty progress bar
    assert list(folder.iterdir()) == []  # no temporary file left


def test_run_offline_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """``resilinet run configs/cifar_mobilenet.yaml`` with no CIFAR-10 in the cache, offline:
    in a fresh process, so pooch's own log handler and TensorFlow would show if they wrote."""
    code = (
        "import sys\n"
        "from resilinet_cli.data import cifar10\n"
        f"cifar10.URL = {UNRESOLVABLE!r}\n"
        "from resilinet_cli.cli import main\n"
        "main(sys.argv[1:], prog_name='resilinet')\n"
    )
    out = tmp_path / "run"
    env = {**os.environ, "KERAS_HOME": str(tmp_path / "keras-home")}
    env.pop("RESILINET_DATA", None)
    start = time.monotonic()
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            code,
            "run",
            str(CONFIGS / "cifar_mobilenet.yaml"),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    cache = tmp_path / "keras-home" / "datasets" / "cifar-10"
    assert result.stderr == (
        f"error: cannot download {UNRESOLVABLE} (the host name does not resolve: offline, or a "
        f"wrong URL); download it by hand into {cache}, or pass --data-dir\n"
    )
    assert time.monotonic() - start < 60
    assert not cache.exists() or not any(cache.iterdir())  # nothing half-downloaded
    assert not out.exists()  # no half-made results folder either
