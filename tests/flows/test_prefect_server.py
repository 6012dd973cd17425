import os
import sys

import pytest

from flows.prefect_server import ServerStartError, TemporaryServer, prefect_api


def test_the_users_own_prefect_server_is_used_as_it_is(monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    with prefect_api() as server:
        assert server is None
        assert os.environ["PREFECT_API_URL"] == "http://127.0.0.1:4200/api"


def test_a_temporary_server_serves_prefect_inside_the_block_and_stops_after(monkeypatch):
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    from prefect.settings import PREFECT_API_URL

    with prefect_api() as server:
        assert server is not None
        server.wait_until_healthy(120)
        # Child processes (env) and this process's Prefect settings both point at it.
        assert os.environ["PREFECT_API_URL"] == server.api_url == PREFECT_API_URL.value()
    assert server.process.poll() is not None
    assert "PREFECT_API_URL" not in os.environ
    assert not PREFECT_API_URL.value()
    assert not server.log.exists()


def test_a_server_that_exits_at_start_is_reported_with_its_output():
    server = TemporaryServer(
        command=[sys.executable, "-c", "import sys; print('no database'); sys.exit(3)"]
    )
    with pytest.raises(ServerStartError, match="exited with status 3") as failure:
        server.wait_until_healthy(30)
    assert str(server.log) in str(failure.value)
    assert "no database" in server.log.read_text()
    server.log.unlink()
