"""The recorder's fixtures (a moto server playing AWS, one mitmproxy CA), shared with tests/capture."""

from tests.capture.conftest import confdir, moto_http

__all__ = ["confdir", "moto_http"]
