"""Configuration: where the token and the server come from, and how the client shows itself."""

from __future__ import annotations

import pickle

import pytest

from intake_onc.client import DEFAULT_BASE_URL, ONCClient, RetryPolicy, TokenMissingError
from intake_onc.client._client import read_dotenv, resolve_base_url

TOKEN = "5f1c9a2e-7d3b-4c8a-9e1f-0a2b3c4d5e6f"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path):
    """No ONC_* variables and an empty working directory, whatever the developer's shell has."""
    for name in ("ONC_TOKEN", "ONC_BASE_URL", "INTAKE_ONC_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_token_from_the_argument_wins():
    client = ONCClient(token=TOKEN)
    assert client.token_source == "argument"


def test_token_from_the_environment(monkeypatch):
    monkeypatch.setenv("ONC_TOKEN", TOKEN)
    assert ONCClient().token_source == "environment"


def test_token_from_a_dotenv_file_in_the_working_directory(tmp_path):
    (tmp_path / ".env").write_text(f'# my secrets\nexport ONC_TOKEN="{TOKEN}"\n')
    assert ONCClient().token_source.endswith(".env")


def test_a_missing_token_names_all_three_ways_to_give_one():
    with pytest.raises(TokenMissingError) as info:
        ONCClient()
    text = str(info.value)
    assert "token argument" in text and "ONC_TOKEN" in text and ".env" in text
    assert "***" not in text  # the help itself is never mangled by the token redaction
    assert isinstance(info.value, ValueError)


def test_dotenv_parsing_handles_quotes_comments_and_export(tmp_path):
    path = tmp_path / "x.env"
    path.write_text("A=1\n# comment\nexport B='two words'\nC=3 # note\nbroken line\nD=\"q\"\n")
    assert read_dotenv(path) == {"A": "1", "B": "two words", "C": "3", "D": "q"}
    assert read_dotenv(tmp_path / "missing.env") == {}


def test_base_url_from_argument_environment_or_default(monkeypatch):
    assert ONCClient(token=TOKEN).base_url == DEFAULT_BASE_URL
    monkeypatch.setenv("ONC_BASE_URL", "http://127.0.0.1:9999/")
    assert ONCClient(token=TOKEN).base_url == "http://127.0.0.1:9999"
    assert ONCClient(token=TOKEN, base_url="http://h:1/api").base_url == "http://h:1"


@pytest.mark.parametrize("bad", ["data.oceannetworks.ca", "ftp://x", f"http://x/?token={TOKEN}"])
def test_a_bad_base_url_is_refused_clearly(bad):
    with pytest.raises(ValueError, match="base_url") as info:
        resolve_base_url(bad)
    assert TOKEN not in str(info.value)


def test_repr_shows_the_server_and_hides_the_token():
    client = ONCClient(token=TOKEN, base_url="http://127.0.0.1:8080")
    assert repr(client) == "ONCClient(base_url='http://127.0.0.1:8080', token=***, workers=4)"
    assert TOKEN not in repr(vars(client)) and TOKEN not in repr(vars(client._core))


def test_cache_dir_from_argument_or_environment(monkeypatch, tmp_path):
    assert ONCClient(token=TOKEN, cache_dir=tmp_path / "a").cache.root == tmp_path / "a"
    monkeypatch.setenv("INTAKE_ONC_CACHE", str(tmp_path / "b"))
    assert ONCClient(token=TOKEN).cache.root == tmp_path / "b"


def test_retries_as_a_number_or_a_policy():
    assert ONCClient(token=TOKEN, retries=2, backoff=0.1).retry == RetryPolicy(total=2, backoff=0.1)
    policy = RetryPolicy(total=1, backoff=0.0)
    assert ONCClient(token=TOKEN, retries=policy).retry is policy


@pytest.mark.parametrize("workers", [0, -1, 1.5])
def test_workers_must_be_a_positive_integer(workers):
    with pytest.raises(ValueError, match="workers"):
        ONCClient(token=TOKEN, workers=workers)


def test_a_client_survives_pickling_for_parallel_workers(tmp_path):
    client = ONCClient(token=TOKEN, base_url="http://127.0.0.1:1", workers=3, cache_dir=tmp_path)
    clone = pickle.loads(pickle.dumps(client))
    assert (clone.base_url, clone.workers, clone.cache.root) == (client.base_url, 3, tmp_path)
    assert clone._core._token.reveal() == TOKEN
