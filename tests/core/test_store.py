"""Results store on SQLite and on a real PostgreSQL server (TWIN_TEST_PG_URL, started by .ci/run):
round trip, the run state machine (compare-and-set transitions), leases shared by servers."""

import os
import subprocess
import threading
import time
import uuid

import pytest

import twin
from twin.store import Store, content_key

TERMINAL = {"done", "failed", "cancelled", "interrupted"}

SC = {
    "name": "store test", "horizon": 2000, "seed": 1,
    "stations": {"A": {"process_time": {"dist": "exponential", "mean": 5}}},
    "products": {"p": {"routing": [{"station": "A"}]}},
}
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture
def make_store(tmp_path, request):
    """make_store(owner=None, lease_s=None) -> a Store on the backend of the test's parameter."""
    backend = request.param

    def make(**kw):
        if backend == "postgresql":
            url = os.environ.get("TWIN_TEST_PG_URL")
            if not url:
                pytest.skip("TWIN_TEST_PG_URL not set (.ci/run starts a PostgreSQL server and sets it)")
            return Store(url, data_dir=tmp_path / "pgdata", **kw)
        return Store(tmp_path / "t.db", **kw)

    return make


def dead_owner() -> str:
    """The owner name of a process on this host that has exited."""
    import socket

    p = subprocess.Popen(["true"])
    p.wait()
    return f"{socket.gethostname()}:{p.pid}:gone"


def body(tag=""):
    return twin.parse_scenario(dict(SC, name=f"store {tag}{uuid.uuid4()}")).dump()  # unique content per test run


@pytest.mark.parametrize("make_store", BACKENDS, indirect=True)
def test_store_roundtrip_cache_and_recovery(make_store):
    store = make_store()
    sc = twin.parse_scenario(dict(SC, name=f"store {uuid.uuid4()}"))
    b = sc.dump()
    assert store.find_done(b, 1) is None
    rid = store.create_run(b, seed=1)
    assert store.start_run(rid)
    res = twin.simulate(sc, seed=1)
    assert store.finish_run(rid, res) is not None
    row = store.get_run(rid)
    assert row["status"] == "done" and row["kpis"]["line"]["parts_completed"] == res.kpis["line"]["parts_completed"]
    assert row["key"] == content_key(b, 1)
    assert store.find_done(b, 1)["id"] == rid
    assert store.find_done(b, 2) is None
    assert store.load_result(rid).event_log_hash() == res.event_log_hash()
    # a run left running by a process that died is ended by the next start-up; live runs are not
    crashed = make_store(owner=dead_owner())
    rid2 = crashed.create_run(b, seed=3)
    crashed.start_run(rid2)
    mine = store.create_run(b, seed=4)
    store.start_run(mine)
    assert make_store().mark_interrupted() >= 1
    assert store.get_run(rid2)["status"] == "interrupted"
    assert store.get_run(mine)["status"] == "running"  # its owner (this process) lives
    assert store.get_run(rid)["status"] == "done"
    sid = store.put_scenario(sc.name, b)
    assert store.get_scenario(sid)["body"] == b


@pytest.mark.parametrize("make_store", BACKENDS, indirect=True)
def test_seeds_up_to_2_63_are_stored(make_store):
    """The seed column is 64-bit (PostgreSQL's INTEGER is 32-bit: seeds above 2**31 used to fail)."""
    store = make_store()
    for seed in (2**31, 2**63 - 1):
        rid = store.create_run(body(), seed=seed)
        assert store.get_run(rid)["seed"] == seed


@pytest.mark.parametrize("make_store", BACKENDS, indirect=True)
def test_status_changes_are_compare_and_set(make_store):
    store = make_store()
    res = twin.simulate(twin.parse_scenario(SC))
    # cancel racing completion: whichever comes first wins, the run is never stuck nor unreachable
    a = store.create_run(body(), seed=1)
    store.start_run(a)
    assert store.finish_run(a, res) is not None
    assert store.request_cancel(a) == "done"  # too late: it stays done, its KPIs readable
    assert store.get_run(a)["status"] == "done" and store.load_result(a) is not None
    b = store.create_run(body(), seed=1)
    store.start_run(b)
    assert store.request_cancel(b) == "cancelling"
    assert store.finish_run(b, res) is not None  # finished before the worker saw the request: kept
    assert store.get_run(b)["status"] == "done"
    assert not store.transition(b, "cancelled", ("cancelling",))
    # cancelled while queued: the worker must not start it
    c = store.create_run(body(), seed=1)
    assert store.request_cancel(c) == "cancelled"
    assert not store.start_run(c)
    # ended by someone else (recovered): a late finish is refused and leaves no result behind
    d = store.create_run(body(), seed=1)
    store.start_run(d)
    assert store.fail_run(d, "the server stopped", status="interrupted")
    assert store.finish_run(d, res) is None
    assert store.get_run(d)["status"] == "interrupted" and not (store.data_dir / d).exists()
    with pytest.raises(ValueError):
        store.transition(a, "running", ("done",))  # not an edge of the state machine


@pytest.mark.parametrize("make_store", BACKENDS, indirect=True)
def test_cancel_and_finish_race_ends_every_run_once(make_store):
    """Many runs, a cancel and a finish at the same moment each: every run ends in exactly one
    terminal state, and a done run has its result."""
    store = make_store()
    res = twin.simulate(twin.parse_scenario(SC))
    rids = [store.create_run(body(), seed=1) for _ in range(12)]
    for r in rids:
        store.start_run(r)
    outcomes = {}

    def finish(r):
        outcomes[r] = store.finish_run(r, res)

    for r in rids:
        ts = [threading.Thread(target=finish, args=(r,)), threading.Thread(target=store.request_cancel, args=(r,))]
        [t.start() for t in ts]
        [t.join() for t in ts]
    for r in rids:
        row = store.get_run(r)
        assert row["status"] == "done"  # the finish always completes the run (a cancel only asks)
        assert outcomes[r] is not None and store.load_result(r).kpis == res.kpis


@pytest.mark.parametrize("make_store", BACKENDS, indirect=True)
def test_servers_sharing_a_database_leave_each_others_live_runs_alone(make_store):
    """Server A holds a running run under a lease it renews; server B starting on the same
    database (its recovery at start-up and every few seconds) does not end it. Once A stops
    renewing (A died on another host: only the lease can tell), B ends it; a cancelling run
    becomes cancelled. A worker of A that finishes late cannot flip the run to done."""
    a = make_store(lease_s=30.0)
    live = a.create_run(body(), seed=1)
    a.start_run(live)
    asked = a.create_run(body(), seed=1)
    a.start_run(asked)
    a.request_cancel(asked)
    b = make_store(lease_s=30.0)
    b.recover()  # what a second server does at start-up
    assert a.get_run(live)["status"] == "running" and a.get_run(asked)["status"] == "cancelling"
    a.renew_leases()
    later = time.time() + 31.0  # A has not renewed for longer than its lease
    assert b.recover(now=later) >= 2
    assert a.get_run(live)["status"] == "interrupted"
    assert a.get_run(asked)["status"] == "cancelled"
    res = twin.simulate(twin.parse_scenario(SC))
    assert a.finish_run(live, res) is None and a.get_run(live)["status"] == "interrupted"
    # a lease being renewed is never taken over
    c = a.create_run(body(), seed=1)
    a.start_run(c)
    a.renew_leases()
    b.recover(now=time.time() + 20.0)
    assert a.get_run(c)["status"] == "running"
    assert a.release_owned() >= 1 and a.get_run(c)["status"] in TERMINAL


def test_save_is_atomic_on_failure(tmp_path, monkeypatch):
    res = twin.simulate(twin.parse_scenario(SC))
    out = res.save(tmp_path / "r")
    before = sorted(p.name for p in out.iterdir())
    import pyarrow.parquet as pq

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(pq, "write_table", boom)
    with pytest.raises(OSError):
        res.save(tmp_path / "r")
    # the earlier result is intact and no temp directory is left behind
    assert sorted(p.name for p in out.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["r"]
    assert twin.Result.load(out).kpis == res.kpis
