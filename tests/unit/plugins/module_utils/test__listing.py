"""`ls` semantics: filters, ordering, the text table, per-host timeouts, load errors as rows."""

from __future__ import annotations

import socket
import time

import pytest

from ansible_collections.dockyard.machine.plugins.module_utils import _listing
from ansible_collections.dockyard.machine.plugins.module_utils._errors import MachineError
from ansible_collections.dockyard.machine.plugins.module_utils._store import MachineStore
from ansible_collections.dockyard.machine.tests.support.silent_port import silent_port


def _rows_by_state(store, state_of, **kwargs):
    """list_machines with a stand-in query that answers from a dict instead of the network."""

    def query(store, record, timeout, docker_host):
        answer = state_of[record.name]
        if answer == "hang":
            time.sleep(timeout * 3 + 2)
        return _listing.MachineRow(name=record.name, driver=record.driver_name, state=answer, active="-")

    return _listing.list_machines(store, timeout=0.2, docker_host=None, query=query, **kwargs)


def test_table_matches_go_tabwriter_layout():
    rows = [
        _listing.MachineRow(name="m1", active="-", driver="generic", state="Running", url="tcp://127.0.0.11:2376", docker_version="v20.10.24"),
        _listing.MachineRow(name="aws-sandbox", active="", driver="amazonec2", state="Timeout"),
    ]
    assert _listing.render_table(rows) == (
        "NAME          ACTIVE   DRIVER      STATE     URL                     SWARM   DOCKER      ERRORS\n"
        "m1            -        generic     Running   tcp://127.0.0.11:2376           v20.10.24   \n"
        # Widths: NAME 14, ACTIVE 9, DRIVER 12, STATE 10, URL 24, SWARM 8, DOCKER 12 (longest + 3).
        "aws-sandbox            amazonec2   Timeout" + " " * (3 + 24 + 8 + 12) + "\n"
    )


def test_empty_table_has_the_header_only():
    assert _listing.render_table([]) == "NAME   ACTIVE   DRIVER   STATE   URL   SWARM   DOCKER   ERRORS\n"


def test_filters_and_natural_order(fixture_store):
    store = MachineStore(str(fixture_store))
    states = {"aws-sandbox": "Stopped", "m1": "Running", "m2": "Stopped"}
    assert [r.name for r in _rows_by_state(store, states)] == ["aws-sandbox", "m1", "m2"]

    def by(filters):
        return [r.name for r in _rows_by_state(store, states, machine_filter=_listing.MachineFilter(filters))]

    assert by({"driver": "GENERIC"}) == ["m1", "m2"]
    assert by({"name": "^m"}) == ["m1", "m2"]
    assert by({"name": ["sand", "2$"]}) == ["aws-sandbox", "m2"]
    assert by({"state": "stopped"}) == ["aws-sandbox", "m2"]
    assert by({"driver": "generic", "state": "running"}) == ["m1"]
    assert by({"label": "env=prod"}) == []


def test_label_filter_reads_engine_labels(fixture_store):
    store = MachineStore(str(fixture_store))
    record = store.load("m2")
    record.engine_options["Labels"] = ["env=prod"]
    store.save(record)
    rows = _rows_by_state(store, {"aws-sandbox": "x", "m1": "x", "m2": "x"}, machine_filter=_listing.MachineFilter({"label": "env=prod"}))
    assert [r.name for r in rows] == ["m2"]


@pytest.mark.parametrize(
    "filters,needle",
    [({"colour": "red"}, "Unsupported filter key"), ({"name": "("}, "not a valid regular expression"), ({"label": "novalue"}, "KEY=VALUE")],
)
def test_bad_filters_name_the_option(filters, needle):
    with pytest.raises(MachineError) as info:
        _listing.MachineFilter(filters)
    assert needle in info.value.msg and "'filters'" in info.value.msg


def test_a_host_that_hangs_shows_timeout_and_the_others_still_answer(fixture_store):
    store = MachineStore(str(fixture_store))
    started = time.monotonic()
    rows = _rows_by_state(store, {"aws-sandbox": "Running", "m1": "hang", "m2": "Stopped"})
    assert time.monotonic() - started < 3
    assert [(r.name, r.state) for r in rows] == [("aws-sandbox", "Running"), ("m1", "Timeout"), ("m2", "Stopped")]
    assert rows[1].active == ""


def test_records_that_fail_to_load_are_rows_with_the_error(fixture_store):
    (fixture_store / "machines" / "broken").mkdir()
    (fixture_store / "machines" / "broken" / "config.json").write_text("{")
    store = MachineStore(str(fixture_store))
    rows = _rows_by_state(store, {"aws-sandbox": "Stopped", "m1": "Stopped", "m2": "Stopped"})
    broken = [r for r in rows if r.name == "broken"][0]
    assert (broken.driver, broken.state) == ("not found", "Error")
    assert "not valid JSON" in broken.error and "\n" not in broken.error
    rows = _rows_by_state(store, {"aws-sandbox": "Stopped", "m1": "Stopped", "m2": "Stopped"}, machine_filter=_listing.MachineFilter({"driver": "generic"}))
    assert [r.name for r in rows] == ["m1", "m2"]


def test_generic_state_follows_the_ssh_port(fixture_store):
    """The real query: a generic machine is Running when its SSH port answers, Stopped otherwise."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    store = MachineStore(str(fixture_store))
    record = store.load("m1")
    record.driver["IPAddress"] = "127.0.0.1"
    record.driver["SSHPort"] = port
    # The engine port is closed: the version check fails and says so.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        record.driver["EnginePort"] = probe.getsockname()[1]
    store.save(record)
    try:
        row = _listing.query_machine(store, store.load("m1"), 2, "tcp://127.0.0.1:%d" % record.driver["EnginePort"])
        assert (row.state, row.docker_version, row.active) == ("Running", "Unknown", "*")
        # What modules return says it as a bool, as describe_machine does; only the table shows "*".
        assert row.as_dict()["active"] is True and "active_host" not in row.as_dict()
        # The error behind the words stays inside: a module's result holds only what its RETURN documents.
        assert row.failure is not None and "failure" not in row.as_dict() and "swarm_node" not in row.as_dict()
        described = _listing.describe_machine(store, "m1", timeout=2, docker_host="tcp://127.0.0.1:%d" % record.driver["EnginePort"])
        assert described["active"] is True
        assert "Cannot reach the Docker engine at 127.0.0.1" in row.error
    finally:
        listener.close()
    row = _listing.query_machine(store, store.load("m1"), 1, None)
    assert (row.state, row.url, row.error) == ("Stopped", "", "")


def test_a_silent_engine_is_bounded_by_the_timeout(fixture_store):
    """An engine port that accepts and never answers costs one timeout, not forever."""
    store = MachineStore(str(fixture_store))
    with silent_port() as port:
        record = store.load("m1")
        record.driver.update(IPAddress="127.0.0.1", SSHPort=port, EnginePort=port)
        store.save(record)
        started = time.monotonic()
        row = _listing.query_machine(store, store.load("m1"), 0.5, None)
        assert time.monotonic() - started < 3
    assert row.state == "Running" and row.docker_version == "Unknown"
    assert "did not answer /info within 0.5 s" in row.error
