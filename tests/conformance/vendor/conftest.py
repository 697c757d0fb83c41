"""Keeps the repo's own pytest run out of the vendored third-party suites: they need a server and a
configuration of their own, and run only through their tool (s3-tests: tests/conformance/s3tests_suite.py)."""

collect_ignore = ["s3-tests"]
