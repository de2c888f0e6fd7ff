"""Shared fixtures: the fakes are pytest plugins so that every test can ask for them by name."""

pytest_plugins = [
    "tests.fakes.tencent",
    "tests.fakes.slack",
    "tests.fakes.databases",
    "tests.fakes.core",
    "tests.fakes.http_mock",
]
