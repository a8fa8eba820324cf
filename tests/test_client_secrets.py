"""Where the token may go, and where it may not: catalogs, pickles, keys; and the deadline.

* A reader given ``client=`` and saved in a catalog keeps the client's non-secret settings
  only; the catalog, reopened with ``ONC_TOKEN`` in the environment, reads.
* ``pickle_token=True`` (the default): a pickle carries the token, so a worker with no
  ``ONC_TOKEN`` still works. ``pickle_token=False``: no pickle (client, dataset, dask graph)
  holds the token bytes; the worker takes ``ONC_TOKEN`` from its own environment, or fails
  with a TokenMissingError naming it.
* One call never plans waits past its deadline, however long the server's ``Retry-After``.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import cloudpickle
import dask
import intake
import pytest
from dask.base import tokenize

from intake_onc import open_scalar
from intake_onc.client import (
    ONCClient,
    ONCConnectionError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    TokenMissingError,
    _http,
)
from intake_onc.readers import ONCLocation, ONCLocationReader, ONCScalarDevice, ONCScalarReader

ROOT = Path(__file__).resolve().parents[1]
CTD = "SBECTD19p6813"
HOUR = {"start": "2024-04-01T00:00:00", "end": "2024-04-01T01:00:00"}


@pytest.fixture
def no_env_token(monkeypatch, tmp_path):
    """No ONC_TOKEN / ONC_BASE_URL / INTAKE_ONC_PICKLE_TOKEN here, and a cwd with no .env."""
    for name in ("ONC_TOKEN", "ONC_BASE_URL", "INTAKE_ONC_PICKLE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


# -- 1. catalogs -------------------------------------------------------------------------------
def test_a_saved_catalog_holds_no_client_and_no_token(
    sandbox_url, sandbox_token, tmp_path, monkeypatch, no_env_token
):
    client = ONCClient(token=sandbox_token, base_url=sandbox_url, cache_dir=tmp_path / "c")
    reader = ONCScalarReader(ONCScalarDevice(CTD), client=client, chunk="1h", **HOUR)
    assert "client" not in reader.kwargs
    assert reader.kwargs["client_options"]["base_url"] == sandbox_url
    cat = intake.entry.Catalog()
    cat["ctd"] = reader
    cat.aliases["ctd"] = "ctd"
    location = ONCLocationReader(ONCLocation("BACAX"), client=client)
    cat["bacax"] = location
    cat.aliases["bacax"] = "bacax"
    path = tmp_path / "cat.yaml"
    cat.to_yaml_file(str(path))
    text = path.read_text()
    assert sandbox_token not in text
    assert "pickle64" not in text and "ONCClient" not in text and "token" not in text.lower()
    # The live reader still reads with its client (its token came from the argument).
    assert int(reader.read().temperature.count()) > 0

    # Reopened elsewhere: the client is rebuilt from the environment.
    monkeypatch.setenv("ONC_TOKEN", sandbox_token)
    monkeypatch.setenv("ONC_BASE_URL", sandbox_url)
    again = intake.from_yaml_file(str(path))
    ds = again.ctd.read()
    assert ds.chunks["time"] == (3600,)
    assert int(ds.temperature.count()) > 0
    devices = again.bacax.read()
    assert CTD in set(devices)
    # ... and without a token it says which variable to set.
    monkeypatch.delenv("ONC_TOKEN")
    with pytest.raises(TokenMissingError, match="ONC_TOKEN"):
        again.ctd.read()


def test_a_reader_called_with_new_arguments_keeps_its_client(sandbox_url, sandbox_token):
    client = ONCClient(token=sandbox_token, base_url=sandbox_url)
    reader = ONCScalarReader(ONCScalarDevice(CTD), client=client)
    assert reader(**HOUR)._client is client
    with pytest.raises(ValueError, match="client_options"):
        ONCScalarReader(ONCScalarDevice(CTD), client_options={"token": "x" * 36})


# -- 2. pickles --------------------------------------------------------------------------------
def test_by_default_a_pickle_carries_the_token(sandbox_url, sandbox_token, no_env_token):
    client = ONCClient(token=sandbox_token, base_url=sandbox_url)
    assert client.pickle_token is True
    data = pickle.dumps(client)
    assert sandbox_token.encode() in data
    clone = pickle.loads(data)  # no ONC_TOKEN here: the pickle is enough
    assert len(clone.locations()) > 0


def test_pickle_token_false_keeps_the_token_out_of_every_pickle(
    sandbox_url, sandbox_token, tmp_path, monkeypatch, no_env_token
):
    client = ONCClient(
        token=sandbox_token, base_url=sandbox_url, cache_dir=tmp_path, pickle_token=False
    )
    secret = sandbox_token.encode()
    assert secret not in pickle.dumps(client)
    assert secret not in cloudpickle.dumps(client)
    ds = open_scalar(CTD, client=client, chunk="30min", **HOUR)
    assert secret not in cloudpickle.dumps(ds)
    assert secret not in cloudpickle.dumps(dict(ds.__dask_graph__()))
    # Nothing visible holds it either, in any mode.
    for c in (client, ONCClient(token=sandbox_token, base_url=sandbox_url)):
        assert sandbox_token not in repr(c) + str(c) + tokenize(c)
    names = " ".join(str(k) for k in ds.__dask_graph__()) + tokenize(ds)
    assert sandbox_token not in names

    # Unpickled where there is no token: loads, then the first request names ONC_TOKEN.
    clone = pickle.loads(pickle.dumps(client))
    assert clone.pickle_token is False
    with pytest.raises(TokenMissingError, match="ONC_TOKEN"):
        clone.locations()
    monkeypatch.setenv("ONC_TOKEN", sandbox_token)
    assert len(pickle.loads(pickle.dumps(client)).locations()) > 0


def test_the_environment_variable_sets_the_default(monkeypatch, sandbox_token):
    monkeypatch.setenv("INTAKE_ONC_PICKLE_TOKEN", "0")
    assert ONCClient(token=sandbox_token).pickle_token is False
    assert sandbox_token.encode() not in pickle.dumps(ONCClient(token=sandbox_token))
    assert ONCClient(token=sandbox_token, pickle_token=True).pickle_token is True


_WORKER = textwrap.dedent(
    """
    import sys, cloudpickle
    ds = cloudpickle.loads(open(sys.argv[1], "rb").read())
    try:
        print("COUNT", int(ds.temperature.count().compute(scheduler="sync")))
    except Exception as exc:
        print("ERROR", type(exc).__name__, exc)
    """
)


def _run_worker(path: Path, cwd: Path, token: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("ONC_TOKEN", "ONC_BASE_URL")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env.pop("INTAKE_ONC_PICKLE_TOKEN", None)
    if token is not None:
        env["ONC_TOKEN"] = token
    out = subprocess.run(
        [sys.executable, "-c", _WORKER, str(path)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


@pytest.mark.parametrize("pickle_token", [True, False])
def test_a_dataset_computes_in_another_process(
    sandbox_url, sandbox_token, tmp_path, no_env_token, pickle_token
):
    client = ONCClient(
        token=sandbox_token,
        base_url=sandbox_url,
        cache_dir=tmp_path / "cache",
        pickle_token=pickle_token,
    )
    ds = open_scalar(CTD, client=client, chunk="30min", **HOUR)
    expected = int(ds.temperature.count())
    path = tmp_path / "ds.pkl"
    path.write_bytes(cloudpickle.dumps(ds))
    assert (sandbox_token.encode() in path.read_bytes()) is pickle_token
    worker_dir = tmp_path / "worker"  # no .env there
    worker_dir.mkdir()

    assert f"COUNT {expected}" in _run_worker(path, worker_dir, sandbox_token)
    without = _run_worker(path, worker_dir, None)
    if pickle_token:
        assert f"COUNT {expected}" in without  # the pickle brought the token
    else:
        assert "ERROR TokenMissingError" in without and "ONC_TOKEN" in without
        assert sandbox_token not in without


# -- 3. deadline -------------------------------------------------------------------------------
@pytest.fixture
def waits(monkeypatch):
    """Record retry waits instead of sleeping."""
    recorded: list[float] = []
    monkeypatch.setattr(_http, "_sleep", recorded.append)
    return recorded


def test_a_long_retry_after_stops_at_the_deadline(make_sandbox, sandbox_token, tmp_path, waits):
    url = make_sandbox(retry_after_s=300)
    make_sandbox.server(url).faults.queue(*["429"] * 10)
    client = ONCClient(token=sandbox_token, base_url=url, timeout=5, cache_dir=tmp_path)
    assert client.deadline == 600
    with pytest.raises(RateLimitError) as info:
        client.locations()
    message = str(info.value)
    assert sum(waits) <= 600 and len(waits) == 2  # 300 + 300; a third would pass 600
    assert "600 s deadline" in message and "3 attempts" in message
    assert f"{url}/api/locations" in message and "token=***" in message
    assert sandbox_token not in message


def test_the_deadline_is_an_argument(make_sandbox, sandbox_token, tmp_path, waits):
    url = make_sandbox(retry_after_s=30)
    make_sandbox.server(url).faults.queue(*["503"] * 10)
    client = ONCClient(
        token=sandbox_token,
        base_url=url,
        retries=8,
        backoff=20,
        deadline="1min",
        cache_dir=tmp_path,
    )
    with pytest.raises(ServerError, match="60 s deadline") as info:
        client.locations()
    assert sum(waits) <= 60 and info.value.status_code == 503
    # Under the deadline, the call goes on to an answer.
    url = make_sandbox(retry_after_s=30)
    make_sandbox.server(url).faults.queue("429", "429")
    client = ONCClient(token=sandbox_token, base_url=url, deadline="1min", cache_dir=tmp_path)
    waits.clear()
    assert len(client.locations()) > 0 and waits == [30, 30]


def test_a_policy_keeps_its_deadline_unless_one_is_given():
    policy = RetryPolicy(total=3, deadline=5)
    assert ONCClient(token="t" * 36, retries=policy).retry is policy
    assert ONCClient(token="t" * 36, retries=policy, deadline=7).deadline == 7
    with pytest.raises(ValueError, match="deadline"):
        RetryPolicy(deadline=0)


def test_connection_errors_stop_at_the_deadline(tmp_path, waits):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = ONCClient(
        token="t" * 36,
        base_url=f"http://127.0.0.1:{port}",
        retries=50,
        backoff=10,
        deadline=45,
        cache_dir=tmp_path,
    )
    with pytest.raises(ONCConnectionError, match="45 s deadline"):
        client.locations()
    assert sum(waits) <= 45 and len(waits) < 50


def test_dask_keys_do_not_depend_on_the_token(sandbox_url, sandbox_token, tmp_path):
    with dask.config.set(scheduler="sync"):
        a = ONCClient(token=sandbox_token, base_url=sandbox_url, cache_dir=tmp_path)
        b = ONCClient(token="z" * 36, base_url=sandbox_url, cache_dir=tmp_path)
        assert tokenize(a) == tokenize(b)
