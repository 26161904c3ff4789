"""``compat-diff generate``: request suites built from the botocore service models."""
