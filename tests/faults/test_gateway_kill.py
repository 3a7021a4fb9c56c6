"""Durability: SIGKILL in the middle of a load loses no acknowledged record and duplicates none; SIGTERM
publishes everything; offsets continue after a restart. The gateway runs as a real child process."""

from __future__ import annotations

import signal
import threading
from collections import Counter

import gateway_fixtures as fx
import pytest
import requests

TOPIC = "pinterest.pin"


@pytest.fixture(autouse=True)
def _no_leftover_gateways():
    yield
    fx.GatewayProcess.kill_leftovers()


class Load:
    """Client threads posting unique records until the gateway goes away (bounded by `max_batches`)."""

    def __init__(self, url: str, clients: int = 4, max_batches: int = 2000):
        self.url = url
        self.acked: dict[tuple[int, int], int] = {}  # (client, seq) -> acknowledged offset
        self.failures = 0  # requests that never got an answer (the gateway died)
        self.errors: list[str] = []  # answers other than 200
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._client, args=(c, max_batches)) for c in range(clients)]
        for thread in self.threads:
            thread.start()

    def _client(self, client: int, max_batches: int) -> None:
        seq = 0
        with requests.Session() as session:
            for batch in range(max_batches):
                values = [{"client": client, "seq": seq + i} for i in range(1 + (batch * 7 + client) % 13)]
                seq += len(values)
                try:
                    response = fx.produce(self.url, TOPIC, values, session=session)
                except requests.RequestException:
                    with self.lock:
                        self.failures += 1
                    return
                if response.status_code != 200:  # an assert here would only end this thread
                    with self.lock:
                        self.errors.append(response.text)
                    return
                with self.lock:
                    for value, offset in zip(values, response.json()["offsets"]):
                        self.acked[(value["client"], value["seq"])] = offset["offset"]

    def count(self) -> int:
        with self.lock:
            return len(self.acked)

    def join(self) -> None:
        for thread in self.threads:
            thread.join()


def check_exactly_once(records: list[tuple[int, int, dict]], acked: dict) -> None:
    """Every acknowledged record once, at its acknowledged offset; nothing anywhere twice."""
    keys = Counter((v["client"], v["seq"]) for _, _, v in records)
    assert max(keys.values()) == 1, "a record is on disk twice"
    by_key = {(v["client"], v["seq"]): offset for _, offset, v in records}
    missing = [k for k in acked if k not in by_key]
    assert not missing, f"{len(missing)} acknowledged records lost"
    assert all(by_key[k] == offset for k, offset in acked.items())
    assert sorted(o for _, o, _ in records) == list(range(len(records)))  # offsets with no gap


# 50: files are being published while the process dies; 100000: everything is still staged at the kill
@pytest.mark.parametrize("flush_size", ["50", "100000"])
def test_sigkill_mid_load_loses_and_duplicates_nothing_and_offsets_continue(tmp_path, flush_size):
    gateway = fx.GatewayProcess(tmp_path, "--flush-size", flush_size)
    load = Load(gateway.url)
    fx.wait_for(lambda: load.count() >= 1500 or not any(t.is_alive() for t in load.threads))
    assert any(t.is_alive() for t in load.threads), "the load ended before the kill"
    gateway.proc.kill()
    gateway.proc.wait(timeout=30)
    load.join()
    assert load.errors == []
    assert load.failures >= 1  # clients were still sending when the process died
    acked = dict(load.acked)

    # before any restart: finished files are valid and the rest is staged, outside topics/
    finished = fx.read_topic(tmp_path, TOPIC)
    assert all(p.suffix == ".json" for p in (tmp_path / "topics").rglob("*") if p.is_file())
    assert len(finished) + len(fx.staged_lines(tmp_path, TOPIC)) >= len(acked)

    restarted = fx.GatewayProcess(tmp_path, "--flush-size", flush_size)
    records = fx.read_topic(tmp_path, TOPIC)  # recovery published the staged records
    check_exactly_once(records, acked)
    response = fx.produce(restarted.url, TOPIC, [{"client": 99, "seq": 0}])
    assert response.json()["offsets"][0]["offset"] == len(records)
    code, out = restarted.stop(signal.SIGTERM)
    assert code == 0 and "gateway stopped" in out
    assert fx.read_topic(tmp_path, TOPIC)[-1] == (0, len(records), {"client": 99, "seq": 0})


def test_sigterm_mid_load_publishes_every_acknowledged_record(tmp_path):
    gateway = fx.GatewayProcess(tmp_path, "--flush-size", "500", "--rotate-interval-ms", "600000")
    load = Load(gateway.url, clients=3)
    fx.wait_for(lambda: load.count() >= 700 or not any(t.is_alive() for t in load.threads))
    code, out = gateway.stop(signal.SIGTERM)
    load.join()
    assert code == 0, out
    assert load.errors == []
    assert fx.staged_lines(tmp_path, TOPIC) == []  # nothing left behind in staging
    check_exactly_once(fx.read_topic(tmp_path, TOPIC), dict(load.acked))
