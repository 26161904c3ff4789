"""compat_diff: does this cloud behave like AWS? Record, replay, diff and report, with evidence."""

__version__ = "0.1.0"
