"""Fixtures for the collector's tests: a moto server on 127.0.0.1 per test process, and networks built in it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer

from tests.aws.moto_env import (
    CLEARED,
    FAKE_CREDENTIALS,
    Built,
    build_small,
    build_three_tier,
    point_at,
)


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """Start a moto server on a free 127.0.0.1 port for this test process; stop it at the end."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def isolated_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """An environment with no AWS configuration at all: no profile files, no keys, no metadata service."""
    for name in (*CLEARED, *FAKE_CREDENTIALS, "AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return monkeypatch


@pytest.fixture
def aws_env(isolated_aws: pytest.MonkeyPatch, moto_url: str, tmp_path: Path) -> str:
    """Point boto3 at the moto server through AWS_ENDPOINT_URL, with fake credentials; returns the URL."""
    point_at(isolated_aws, moto_url, tmp_path)
    return moto_url


@pytest.fixture(scope="session")
def three_tier(moto_url: str) -> Built:
    """The three-tier network, built once per test process in MAIN_REGION."""
    return build_three_tier(moto_url)


@pytest.fixture(scope="session")
def small(moto_url: str) -> Built:
    """The small network, built once per test process in SECOND_REGION."""
    return build_small(moto_url)
