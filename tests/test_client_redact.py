"""The token never shows: redaction of URLs, JSON, log records and error messages."""

from __future__ import annotations

import json
import logging
import pickle
from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from intake_onc.client import errors
from intake_onc.client._redact import RedactingFilter, Secret, redact, redact_obj

TOKEN = "5f1c9a2e-7d3b-4c8a-9e1f-0a2b3c4d5e6f"


@pytest.mark.parametrize(
    "text",
    [
        f"https://data.oceannetworks.ca/api/locations?token={TOKEN}",
        f"https://data.oceannetworks.ca/api/locations?locationCode=BACAX&token={TOKEN}&x=1",
        f'{{"token": "{TOKEN}", "page": 2}}',
        f"HTTPConnectionPool(host='x', port=1): Max retries exceeded with url: /api/a?TOKEN={TOKEN}",
        f"a bare mention of {TOKEN} in a sentence",
    ],
)
def test_redact_removes_the_token_everywhere(text):
    secret = Secret(TOKEN)  # registers the value while it lives
    out = redact(text)
    del secret
    assert TOKEN not in out and "***" in out


def test_a_token_is_forgotten_when_its_last_secret_is_gone():
    """Old tokens (a closed client's, another account's) never mask unrelated text."""
    value = "2021-03-01-not-a-real-token"
    secret = Secret(value)
    assert redact(f"deployed {value}") == "deployed ***"
    del secret
    assert redact(f"deployed {value}") == f"deployed {value}"


def test_redact_leaves_other_text_alone():
    assert redact("locationCode=BACAX&tokens_seen=3") == "locationCode=BACAX&tokens_seen=3"


def test_short_tokens_are_still_removed_from_urls():
    assert redact("https://x/api?token=abc&y=1") == "https://x/api?token=***&y=1"


def test_redact_obj_walks_json():
    obj = {"next": {"parameters": {"token": TOKEN, "page": "2"}}, "queryUrl": f"x?token={TOKEN}"}
    assert TOKEN not in repr(redact_obj(obj))


def test_a_secret_never_shows_itself():
    secret = Secret(TOKEN)
    assert TOKEN not in repr(secret) + str(secret) + f"{secret}" + f"{secret!r}"
    assert secret.reveal() == TOKEN
    assert pickle.loads(pickle.dumps(secret)) == secret


def test_the_log_filter_scrubs_formatted_records():
    record = logging.LogRecord(
        "urllib3.connectionpool",
        logging.DEBUG,
        __file__,
        1,
        '%s://%s:%s "%s %s %s" %s %s',
        ("http", "h", 80, "GET", f"/api/x?token={TOKEN}", "HTTP/1.1", 200, 10),
        None,
    )
    RedactingFilter().filter(record)
    assert TOKEN not in record.getMessage() and "token=***" in record.getMessage()


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 429, 500, 503, 418])
def test_errors_built_from_a_response_never_hold_the_token(status):
    secret = Secret(TOKEN)  # noqa: F841  (a live client holds its token like this)
    body = (
        f'{{"errors": [{{"errorCode": 127, "errorMessage": "bad {TOKEN}", "parameter": "token"}}]}}'
    )
    err = errors.error_from_response(status, body, f"https://x/api/a?token={TOKEN}&b=1")
    pickled = pickle.loads(pickle.dumps(err))
    for text in (str(err), repr(err), err.url, err.message, repr(err.errors), str(pickled)):
        assert TOKEN not in text
    assert isinstance(err, errors.ONCHTTPError)


def test_error_classes_follow_onc_codes():
    def err(code, message="m", parameter="p", status=400):
        body = (
            f'{{"errors": [{{"errorCode": {code}, "errorMessage": "{message}", '
            f'"parameter": "{parameter}"}}]}}'
        )
        return errors.error_from_response(status, body, "u")

    assert type(err(23)) is errors.InvalidDateRangeError
    assert type(err(25)) is errors.InvalidDateRangeError
    assert type(err(127)) is errors.InvalidParameterError
    assert type(err(128)) is errors.MissingParameterError
    assert type(err(129)) is errors.UnknownParameterError
    assert type(err(96)) is errors.NoDataError
    assert type(err(33)) is errors.NoDataError
    assert type(err(127, "was deployed but not during the range")) is errors.NotDeployedError
    assert type(err(127, "has data restricted by ONC")) is errors.RestrictedDataError
    assert type(err(127, parameter="token", status=401)) is errors.AuthError
    assert type(errors.error_from_response(502, "<html>", "u")) is errors.ServerError
    assert type(errors.error_from_response(410, "", "u")) is errors.GoneError


def test_error_without_an_onc_body_keeps_the_text():
    err = errors.error_from_response(400, '{"message": "cancelled", "status": "error"}', "u")
    assert type(err) is errors.BadRequestError and "cancelled" in str(err)


# -- properties --------------------------------------------------------------------------------
tokens = st.text("abcdefABCDEF0123456789-", min_size=8, max_size=40).filter(
    lambda t: t.strip("-") and "***" not in t
)
values = st.text(st.characters(codec="ascii", exclude_characters="\x00"), max_size=30)


@settings(max_examples=200, deadline=None)
@given(token=tokens, params=st.dictionaries(st.sampled_from(["a", "dateFrom", "x"]), values))
def test_no_url_or_json_keeps_a_registered_token(token, params):
    secret = Secret(token)  # noqa: F841  (registered while it lives)
    url = "https://h/api/s?" + urlencode({**params, "token": token})
    body = json.dumps({"queryUrl": url, "next": {"parameters": {"token": token}}})
    assert token not in redact(url) and token not in redact(body)
