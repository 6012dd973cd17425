"""A real S3-compatible endpoint on 127.0.0.1 (moto's server mode) for publishing tests."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

# A credential a test can look for in every file zhclean writes: it must never appear.
SECRET = f"zhclean-secret-{uuid.uuid4().hex}"
ACCESS_KEY = "AKIAZHCLEANTEST"


@contextmanager
def moto_s3_server() -> Iterator[str]:
    """Start moto's S3 server on a free port of 127.0.0.1; yield its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def s3_environment(monkeypatch, endpoint: str | None) -> None:
    """Credentials (and, if given, the endpoint) in the environment, as a user would set them."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    if endpoint is None:
        monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    else:
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)


def new_bucket(endpoint: str) -> str:
    import s3fs

    name = f"zhclean-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(
        skip_instance_cache=True, endpoint_url=endpoint, key=ACCESS_KEY, secret=SECRET
    ).mkdir(name)
    return name


def read_objects(endpoint: str, bucket: str) -> dict[str, bytes]:
    import s3fs

    fs = s3fs.S3FileSystem(
        skip_instance_cache=True, endpoint_url=endpoint, key=ACCESS_KEY, secret=SECRET
    )
    return {path[len(bucket) + 1 :]: fs.cat_file(path) for path in fs.find(bucket)}
