"""Running the ``resilinet`` command inside a test, and reading a one-line error."""

from __future__ import annotations

from click.testing import CliRunner

from resilinet_cli.cli import main


def invoke(*args: str) -> tuple[int, str, str]:
    """``resilinet ARGS`` in this process: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(main, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def one_line_error(code: int, stdout: str, stderr: str) -> str:
    """The message of a bad-input error: exit code 2, one line, no traceback."""
    assert code == 2, stderr
    assert stderr.count("\n") == 1 and "Traceback" not in stderr, stderr
    return stderr.removeprefix("error: ").rstrip("\n")
