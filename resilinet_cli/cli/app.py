"""The ``resilinet`` command group and its one error path.

User errors (a bad config, missing data, a run folder of another config) print one line on
stderr and exit with code 2; ``--debug`` shows the traceback instead. TensorFlow is imported only
once a command has validated its input. Each command lives in a module of its own and calls the
library (``resilinet_cli.api`` and the packages below it); this package only parses and prints.
"""

from __future__ import annotations

import errno
import logging
from typing import Any

import click

from resilinet_cli.cli.context import ARGV, VERBOSITY, Verbosity
from resilinet_cli.errors import ResilinetError
from resilinet_cli.quiet_import import quiet_tensorflow_import
from resilinet_cli.version import __version__

quiet_tensorflow_import()  # hide TensorFlow's C++ start-up chatter


class _NoRetracingNotice(logging.Filter):
    """Each swept model is traced once by design; TensorFlow's retracing notice is noise here."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


logging.getLogger("tensorflow").addFilter(_NoRetracingNotice())


# Errors of a full disk or a folder we may not write, with what to do about each. Finished
# units are on disk already (every file is written atomically), so a rerun resumes.
WRITE_ERRORS = {
    errno.ENOSPC: "the disk is full; free space (or choose another --out) and rerun to resume",
    errno.EDQUOT: "the disk quota is used up; free space and rerun to resume",
    errno.EROFS: "the file system is read-only; choose another --out",
    errno.EACCES: "no permission; choose another --out or fix the folder's permissions",
    errno.EPERM: "no permission; choose another --out or fix the folder's permissions",
    errno.ENOTDIR: "part of the path is a file, not a folder; choose another --out",
    errno.EEXIST: "a file is in the way of a folder; choose another --out",
}


class App(click.Group):
    """Click group with one error path: domain errors become one line and exit code 2."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        """Keep the command line as given, for each unit's record (``sys.argv`` is the test
        runner's under CliRunner)."""
        ctx.meta[ARGV] = ("resilinet", *args)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.UsageError as error:  # a bad command-line value: one line, like the rest
            if ctx.params.get("debug"):
                raise
            hint = f" (see '{error.ctx.command_path} --help')" if error.ctx else ""
            click.echo(f"error: {error.format_message()}{hint}", err=True)
            ctx.exit(2)
        except ResilinetError as error:
            if ctx.params.get("debug"):
                raise
            for line in str(error).splitlines():
                click.echo(f"error: {line}", err=True)
            ctx.exit(error.exit_code)
        except OSError as error:
            if ctx.params.get("debug") or error.errno not in WRITE_ERRORS:
                raise
            where = error.filename or "a result file"
            click.echo(
                f"error: cannot write {where}: {error.strerror}; {WRITE_ERRORS[error.errno]}",
                err=True,
            )
            ctx.exit(2)


@click.group(cls=App, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="resilinet")
@click.option("--debug", is_flag=True, help="Show full tracebacks for errors.")
@click.option(
    "-q",
    "--quiet",
    is_flag=True,
    help="Print only errors and final results: no per-unit lines, bars or Keras progress.",
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Also print Keras' per-epoch progress of units trained by --workers or Ray, and "
    "each unit's wall time.",
)
@click.pass_context
def main(ctx: click.Context, debug: bool, quiet: bool, verbose: bool) -> None:
    """Train, sweep and report failure-resilient distributed neural networks (ResiliNet).

    \b
    Quick start:
      resilinet run configs/quickstart.yaml
      resilinet evaluate results/quickstart --failures edge --reliability hazardous
    """
    if quiet and verbose:
        raise click.UsageError("--quiet and --verbose exclude each other; choose one")
    level = Verbosity.QUIET if quiet else Verbosity.VERBOSE if verbose else Verbosity.NORMAL
    ctx.meta[VERBOSITY] = level
    if level is Verbosity.QUIET:  # no download progress bars either (shown by default)
        from resilinet_cli.data.download import progress_bars

        ctx.with_resource(progress_bars(False))
