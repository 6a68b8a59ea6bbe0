"""Retries, timeouts and error reporting over real HTTP against the simulator's injected faults, and the token
never showing in any log record or exception text."""

import logging
import re
import socket
import time
import traceback

import pytest

from reporter_etl.api import (
    AuthenticationError,
    ClientError,
    RateLimitedError,
    ReporterClient,
    RetryPolicy,
    ServerError,
    Timeouts,
    TransportError,
    UnexpectedResponseError,
    message_time,
)
from reporter_etl.simulator import FaultConfig, Simulator, WorldConfig
from tests.fixed_dates import TEST_END_DATE

TOKEN = "Flt9k2Qz:5e1f0c3a9b7d4e2f8a6c1b3d5e7f9a0b2c4d6e8f"
FAST = RetryPolicy(max_attempts=10, base_delay=0.001, max_delay=0.005, retry_after_cap=0.005)


@pytest.fixture(scope="module")
def sim():
    with Simulator(WorldConfig(end_date=TEST_END_DATE, seed=5, days=2, messages_per_day=400), token=TOKEN) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def no_faults_after(sim):
    yield
    sim.faults = None


def make_client(sim, retry=FAST, **kwargs) -> ReporterClient:
    return ReporterClient(sim.base_url, kwargs.pop("token", TOKEN), retry=retry,
                          timeouts=kwargs.pop("timeouts", Timeouts(connect=2, read=10)), **kwargs)  # fmt: skip


def test_paging_through_faults_returns_exactly_the_ground_truth(sim):
    start, end = sim.world.start, sim.world.now
    truth = sim.world.truth_messages(start, end)
    assert len(truth) > 500
    sim.faults = FaultConfig(seed=9, rate_limit=0.12, retry_after_seconds=1, server_error=0.12, html=0.06,
                             html_ok_share=0.0, drop=0.08, drop_mid_body=0.08)  # fmt: skip
    with make_client(sim) as client:
        pages = list(client.paginate("filter_messages", filters=[message_time(start, end)], size=25))
        got = [m for page in pages for m in page.items]
        assert sorted(got, key=lambda m: m["questionId"]) == sorted(truth, key=lambda m: m["questionId"])
        assert len(pages) == -(-len(truth) // 25)
        assert client.retry_count > 0 and client.request_count == len(pages) + client.retry_count
    counts = sim.fault_counts
    assert {"rate_limit", "server_error", "html", "drop", "drop_mid_body"} <= set(counts)


@pytest.mark.parametrize(
    "faults, error, text",
    [
        (FaultConfig(server_error=1.0), ServerError, r"filter_messages: server error \(50[023] reporter\.internal"),
        (FaultConfig(rate_limit=1.0), RateLimitedError, r"filter_messages: rate limited \(429"),
        (FaultConfig(drop=1.0), TransportError, "filter_messages: the connection was dropped"),
        (FaultConfig(drop_mid_body=1.0), ClientError, "filter_messages: "),
        (FaultConfig(html=1.0, html_ok_share=0.0), ServerError, "filter_messages: server error 502 with an HTML page"),
    ],
)
def test_faults_outlasting_the_budget_give_a_clear_error_naming_the_operation(sim, faults, error, text):
    sim.faults = faults
    with make_client(sim, retry=RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.002,
                                            retry_after_cap=0.002)) as client:  # fmt: skip
        with pytest.raises(error, match=text) as info:
            list(client.iter_messages([message_time(sim.world.start, sim.world.now)]))
        assert "gave up after 3 attempts" in str(info.value)
        assert client.request_count == 3 and info.value.operation == "filter_messages"


def test_retry_after_is_honoured_up_to_the_cap(sim):
    sim.faults = FaultConfig(rate_limit=1.0, retry_after_seconds=3)
    waits: list[float] = []
    policy = RetryPolicy(max_attempts=4, base_delay=0.001, max_delay=0.002, retry_after_cap=10)
    with make_client(sim, retry=policy, sleep=waits.append) as client, pytest.raises(RateLimitedError):
        client.list_experiments()
    assert len(waits) == 3 and all(w >= 3 for w in waits)
    waits.clear()
    capped = RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.002, retry_after_cap=0.5)
    with make_client(sim, retry=capped, sleep=waits.append) as client, pytest.raises(RateLimitedError):
        client.list_experiments()
    assert waits == [0.5]


def test_creating_writes_are_not_resent_after_a_server_error_but_are_after_429(sim):
    sim.faults = FaultConfig(server_error=1.0)
    with make_client(sim) as client:
        with pytest.raises(ServerError, match="not retried: create_session_label is not safe to send twice"):
            client.create_session_label("once-only", 1)
        assert client.requests_by_operation == {"create_session_label": 1}
    sim.faults = FaultConfig(seed=2, rate_limit=0.5, retry_after_seconds=0)
    with make_client(sim) as client:
        created = client.create_session_label("after-429", 1)
        assert client.get_session_label(created["id"])["name"] == "after-429"
    # An idempotent write (set a label, retried through 5xx and drops) still lands exactly once.
    sim.faults = FaultConfig(seed=4, server_error=0.2, drop=0.2)
    with make_client(sim) as client:
        client.update_session_label(created["id"], "renamed", 2)
        client.delete_session_label(created["id"])
    sim.faults = None
    with make_client(sim) as client, pytest.raises(ClientError, match="not found"):
        client.get_session_label(created["id"])


def test_html_with_status_200_is_retried_like_a_5xx(sim):
    # A flaky proxy or WAF answering 200 with its own page now and then: the reads get through.
    sim.faults = FaultConfig(seed=3, html=0.3, html_ok_share=1.0)
    with make_client(sim) as client:
        truth = sim.world.truth_messages(sim.world.start, sim.world.now)
        pages = list(client.paginate("filter_messages", filters=[message_time(sim.world.start, sim.world.now)],
                                     size=50))  # fmt: skip
        assert sum(len(page.items) for page in pages) == len(truth)
        assert client.retry_count > 0 and sim.fault_counts["html"] == client.retry_count


def test_html_with_status_200_that_persists_is_a_clear_error_naming_the_host(sim):
    sim.faults = FaultConfig(html=1.0, html_ok_share=1.0)
    host = sim.base_url.removeprefix("http://")
    expected = f"list_experiments: {host} answered 200 with an HTML"
    with make_client(sim, retry=RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.002)) as client:
        with pytest.raises(UnexpectedResponseError, match=expected) as info:
            client.list_experiments()
        assert client.request_count == 3
        assert "gave up after 3 attempts in" in str(info.value) and f"to {host}" in str(info.value)


def test_read_timeouts_are_retried_then_reported(sim):
    sim.faults = FaultConfig(slow=1.0, slow_seconds=0.4)
    host = sim.base_url.removeprefix("http://")
    with make_client(sim, retry=RetryPolicy(max_attempts=2, base_delay=0.001, max_delay=0.002),
                     timeouts=Timeouts(connect=2, read=0.1)) as client:  # fmt: skip
        with pytest.raises(TransportError, match=rf"list_experiments: no response from {host} within 0.1s"):
            client.list_experiments()
        assert client.request_count == 2


def test_a_server_that_never_answers_is_given_up_within_the_request_timeout(sim, caplog):
    # Read timeout 0.2 s, 20 attempts: without a bound on the whole request that is about 5 s of silence.
    sim.faults = FaultConfig(hang=1.0)
    host = sim.base_url.removeprefix("http://")
    started = time.monotonic()
    client = make_client(sim, retry=RetryPolicy(max_attempts=20, base_delay=0.05, max_delay=0.1),
                         timeouts=Timeouts(connect=2, read=0.2, request=0.8))  # fmt: skip
    with (
        caplog.at_level(logging.WARNING, logger="reporter_etl"),
        client,
        pytest.raises(TransportError, match=rf"filter_messages: no response from {host}") as info,
    ):
        list(client.iter_messages([message_time(sim.world.start, sim.world.now)]))
    waited = time.monotonic() - started
    assert waited < 0.8 + 1.5  # the budget, and a margin for a slow machine: never 20 attempts × 0.2 s
    assert "the request timeout is 0.8 s" in str(info.value) and TOKEN not in str(info.value)
    waiting = [r.getMessage() for r in caplog.records if "has not answered" in r.getMessage()]
    assert waiting and host in waiting[0] and "--request-timeout" in waiting[0]
    # Sub-second numbers as they are: the delay (0.05-0.1 s) is not "0.0 s", the budget not "1 s".
    delay = re.search(r"retrying in (\S+) s", waiting[0])
    assert "giving up 0.8 s after" in waiting[0] and delay and float(delay.group(1)) > 0, waiting[0]


def test_a_wrong_token_stops_at_once(sim):
    with make_client(sim, token="Wrong123:00000000") as client:
        with pytest.raises(AuthenticationError, match=r"filter_sessions: the token was refused \(401"):
            client.filter_sessions()
        assert client.request_count == 1


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_token_never_appears_in_logs_or_exception_texts(sim, caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "urllib3.connectionpool", "requests", "reporter_etl"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    texts: list[str] = []

    def attempt(make, call):
        with make() as client:
            texts.append(repr(client))
            try:
                call(client)
            except Exception as exc:  # noqa: BLE001  (every kind of failure is collected)
                texts.extend([str(exc), repr(exc), "".join(traceback.format_exception(exc))])
            else:
                texts.append("no error")

    bad_tokens = [TOKEN + "x", TOKEN[:-1]]  # near misses: a message printing "the token" would show most of it
    sessions = lambda c: list(c.iter_sessions())  # noqa: E731
    for kind in (FaultConfig(server_error=1.0), FaultConfig(drop=1.0), FaultConfig(drop_mid_body=1.0),
                 FaultConfig(html=1.0, html_ok_share=0.5, seed=3), FaultConfig(rate_limit=1.0),
                 FaultConfig(seed=1, server_error=0.4, drop=0.4)):  # fmt: skip
        sim.faults = kind
        attempt(lambda: make_client(sim, retry=RetryPolicy(max_attempts=2, base_delay=0, max_delay=0,
                                                           retry_after_cap=0)), sessions)  # fmt: skip
    sim.faults = FaultConfig(slow=1.0, slow_seconds=0.4)
    attempt(lambda: make_client(sim, retry=RetryPolicy(max_attempts=2, base_delay=0, max_delay=0),
                                timeouts=Timeouts(connect=1, read=0.1)), sessions)  # fmt: skip
    sim.faults = None
    for token in bad_tokens:
        attempt(lambda t=token: make_client(sim, token=t), sessions)
    attempt(lambda: ReporterClient(f"http://127.0.0.1:{closed_port()}", TOKEN,
                                   retry=RetryPolicy(max_attempts=2, base_delay=0, max_delay=0)), sessions)  # fmt: skip
    attempt(lambda: make_client(sim), lambda c: c.get_report_task("no-such-task"))

    errors = [t for t in texts if t != "no error"]
    assert len(errors) >= 30  # str, repr and traceback of each failure
    assert any("urllib3" in r.name for r in caplog.records)  # urllib3's DEBUG lines were captured...
    log_text = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert "/api/reporter/p/***/" in log_text  # ...and they had their token masked
    for secret in [TOKEN, *bad_tokens, TOKEN.replace(":", "%3A")]:
        assert secret not in log_text
        for text in texts:
            assert secret not in text
