"""Everything that needs botocore: the service models, identifying calls, redaction, signing, parsing.

This package is the only place that imports botocore; the rest of compat_diff asks it questions in
terms of ``compat_diff.model`` values. Import the submodules directly (``compat_diff.aws.identify``,
``compat_diff.aws.redact``, ...); nothing is re-exported here so importing one part never loads the
others.
"""
