"""Settings from the environment, the retry policy's waits, token redaction and operation lookup."""

import logging
import random

import pytest

from reporter_etl.api import ConfigurationError, ReporterClient, RetryPolicy
from reporter_etl.api.config import DEFAULT_BASE_URL
from reporter_etl.api.http import parse_retry_after
from reporter_etl.api.operations import OPERATIONS, operation
from reporter_etl.api.redaction import Secret, redact, register_secret
from reporter_etl.api.transport import BearerTransport, LegacyTokenPathTransport

TOKEN = "AbCd1234:0123456789abcdef0123456789abcdef01234567"


def test_from_env_needs_a_token_and_says_which_variable():
    with pytest.raises(ConfigurationError, match="REPORTER_TOKEN"):
        ReporterClient.from_env({})
    with pytest.raises(ConfigurationError, match="REPORTER_TOKEN"):
        ReporterClient.from_env({"REPORTER_TOKEN": "   "})


def test_from_env_defaults_to_the_public_host_and_hides_the_token():
    client = ReporterClient.from_env({"REPORTER_TOKEN": TOKEN})
    assert client.transport.base_url == DEFAULT_BASE_URL
    assert TOKEN not in repr(client)
    client = ReporterClient.from_env({"REPORTER_TOKEN": TOKEN, "REPORTER_BASE_URL": "http://127.0.0.1:9/"})
    assert client.transport.base_url == "http://127.0.0.1:9"


def test_bad_base_urls_are_refused():
    with pytest.raises(ConfigurationError, match="not an http"):
        ReporterClient("app.jaicp.com", TOKEN)


def test_legacy_transport_puts_the_token_in_the_path_only():
    transport = LegacyTokenPathTransport("https://app.jaicp.com", TOKEN)
    target = transport.target(operation("filter_messages"), "/messages/filter")
    assert target.url == f"https://app.jaicp.com/api/reporter/p/{TOKEN}/messages/filter"
    assert TOKEN not in target.display and TOKEN not in repr(transport)
    assert target.headers == {}


def test_bearer_transport_sketch_uses_the_header_and_project():
    transport = BearerTransport("https://platform.tovie.ai", TOKEN, project_short_name="p-1")
    target = transport.target(operation("list_experiments"), "/scenario-exeperiments")
    assert target.url == "https://platform.tovie.ai/api/v1/reporter/scenario-exeperiments"
    assert target.headers == {"Authorization": f"Bearer {TOKEN}"}
    assert target.query == (("projectShortName", "p-1"),)
    with pytest.raises(ConfigurationError, match="no such operation"):
        transport.target(operation("block_client"), "/clients/block")


def test_backoff_grows_exponentially_with_jitter_and_caps():
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0, retry_after_cap=5.0)
    rng = random.Random(3)
    for n, ceiling in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (10, 8.0)):
        waits = [policy.backoff(n, rng) for _ in range(200)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
        assert max(waits) - min(waits) > ceiling / 4  # jitter spreads the waits
    assert policy.delay(1, retry_after=3.0, rng=rng) >= 3.0
    assert policy.delay(1, retry_after=3600.0, rng=rng) == 5.0  # Retry-After honoured, but capped


def test_retry_after_parses_seconds_and_http_dates():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


def test_redaction_masks_raw_and_encoded_tokens_in_text_and_logs(caplog):
    register_secret(TOKEN)
    encoded = TOKEN.replace(":", "%3A")
    assert redact(f"url=/api/reporter/p/{TOKEN}/x and /p/{encoded}/y") == "url=/api/reporter/p/***/x and /p/***/y"
    assert TOKEN not in repr(Secret(TOKEN)) and TOKEN not in str(Secret(TOKEN))
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("urllib3.connectionpool").debug('"%s %s HTTP/1.1" 200', "GET", f"/api/reporter/p/{TOKEN}/x")
    assert caplog.records and all(TOKEN not in r.getMessage() for r in caplog.records)
    assert "/api/reporter/p/***/x" in caplog.text


def test_operation_lookup_by_method_name_or_operation_id():
    assert len(OPERATIONS) == 72
    assert operation("filter_messages") is operation("getMessageDataByFilter")
    with pytest.raises(KeyError, match="unknown Reporter API operation"):
        operation("no_such_thing")


def test_call_checks_parameters_before_sending():
    client = ReporterClient("http://127.0.0.1:9", TOKEN)
    with pytest.raises(TypeError, match="missing required parameter session_id"):
        client.call("session_messages")
    with pytest.raises(TypeError, match="unexpected parameter"):
        client.call("list_experiments", page=1)
    with pytest.raises(TypeError, match="takes no filters"):
        client.call("list_experiments", filters=[])
    with pytest.raises(ValueError, match="not a paged operation"):
        client.paginate("list_experiments")
    assert client.request_count == 0
