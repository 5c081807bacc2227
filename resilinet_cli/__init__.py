"""resilinet: failure-resilient distributed inference (ResiliNet, arXiv 2002.07386)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("resilinet")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0"
