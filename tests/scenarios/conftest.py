"""Fixtures of the scenario tests (defined in scenario_harness, shared with the test module)."""

from scenario_harness import moto_server

__all__ = ["moto_server"]
