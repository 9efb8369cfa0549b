"""Results store on SQLite and on a real PostgreSQL server (TWIN_TEST_PG_URL, started by .ci/run)."""

import os
import uuid

import pytest

import twin
from twin.store import Store, content_key

SC = {
    "name": "store test", "horizon": 2000, "seed": 1,
    "stations": {"A": {"process_time": {"dist": "exponential", "mean": 5}}},
    "products": {"p": {"routing": [{"station": "A"}]}},
}


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_store_roundtrip_cache_and_interrupt(tmp_path, backend):
    if backend == "postgresql":
        url = os.environ.get("TWIN_TEST_PG_URL")
        if not url:
            pytest.skip("TWIN_TEST_PG_URL not set (.ci/run starts a PostgreSQL server and sets it)")
        store = Store(url, data_dir=tmp_path / "pgdata")
    else:
        store = Store(tmp_path / "t.db")
    sc = twin.parse_scenario(dict(SC, name=f"store {uuid.uuid4()}"))  # unique content per test run
    body = sc.dump()
    assert store.find_done(body, 1) is None
    rid = store.create_run(body, seed=1)
    store.start_run(rid)
    res = twin.simulate(sc, seed=1)
    store.finish_run(rid, res)
    row = store.get_run(rid)
    assert row["status"] == "done" and row["kpis"]["line"]["parts_completed"] == res.kpis["line"]["parts_completed"]
    assert row["key"] == content_key(body, 1)
    assert store.find_done(body, 1)["id"] == rid
    assert store.find_done(body, 2) is None
    again = store.load_result(rid)
    assert again.event_log_hash() == res.event_log_hash()
    # a run left running by a crashed process is marked interrupted at the next start
    rid2 = store.create_run(body, seed=3)
    store.start_run(rid2)
    assert store.mark_interrupted() >= 1
    assert store.get_run(rid2)["status"] == "interrupted"
    assert store.get_run(rid)["status"] == "done"
    sid = store.put_scenario(sc.name, body)
    assert store.get_scenario(sid)["body"] == body


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
