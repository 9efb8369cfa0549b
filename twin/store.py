"""Results store: scenarios, runs and their KPIs in SQL (SQLite by default, PostgreSQL by URL),
event logs as Parquet directories beside the database.

Every run is keyed by a content hash of (resolved scenario, seed, replication, twin version),
so a repeated run can be served from the store. A result directory is written atomically
(temp dir + rename) before its row is marked ``done``: a crash never leaves a half-written result.

Run status is one state machine (:data:`TRANSITIONS`) and every change is a compare-and-set
(``UPDATE ... WHERE status IN (expected)``): two processes that race (a cancel against the
worker finishing, two servers recovering the same run) cannot both win, and nobody decides a
state by reading it and then writing it::

    queued ──> running ──> done | failed | interrupted
      │           │
      │           └──> cancelling ──> cancelled | done | failed
      └──> cancelled | failed | interrupted

Runs are *leased* to the process that executes them (``owner`` = ``host:pid:nonce``). A server
renews its leases every few seconds (:meth:`Store.renew_leases`); :meth:`Store.recover` ends
only runs whose lease has expired or whose owner is a dead process on this host, so several
servers can share one PostgreSQL database without ending each other's live runs. A run with no
lease expiry (``lease_expires`` null: a CLI experiment) is held as long as its process lives.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import time
import uuid
from pathlib import Path
from typing import Any, Iterable

import sqlalchemy as sa

from . import __version__

__all__ = ["Store", "content_key", "STATUSES", "ACTIVE", "TERMINAL", "TRANSITIONS", "new_owner"]

ACTIVE = ("queued", "running", "cancelling")
TERMINAL = ("done", "failed", "cancelled", "interrupted")
STATUSES = ACTIVE + TERMINAL
TRANSITIONS: dict[str, frozenset[str]] = {
    "queued": frozenset({"running", "cancelled", "failed", "interrupted"}),
    "running": frozenset({"cancelling", "done", "failed", "interrupted"}),
    "cancelling": frozenset({"cancelled", "done", "failed"}),
}
# what an active run becomes when its owner is gone: a run asked to stop is cancelled, others interrupted
_ORPHANED = {"queued": "interrupted", "running": "interrupted", "cancelling": "cancelled"}
_GONE = "the server stopped before the run finished"

_meta = sa.MetaData()
scenarios = sa.Table(
    "scenarios", _meta,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)
runs = sa.Table(
    "runs", _meta,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("key", sa.String(64), index=True, nullable=False),
    sa.Column("kind", sa.String(20), nullable=False, default="run"),
    sa.Column("parent", sa.String(36), index=True, nullable=True),
    sa.Column("scenario_id", sa.String(36), nullable=True),
    sa.Column("scenario_name", sa.String(200), nullable=False, default=""),
    sa.Column("scenario_body", sa.Text, nullable=False),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("replication", sa.Integer, nullable=False, default=0),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("progress", sa.Float, nullable=False, default=0.0),
    sa.Column("kpis", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("result_dir", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float, nullable=True),
    sa.Column("finished_at", sa.Float, nullable=True),
    sa.Column("owner", sa.String(200), nullable=True),
    sa.Column("lease_expires", sa.Float, nullable=True),
)


def content_key(scenario: dict, seed: int, replication: int = 0, version: str = __version__) -> str:
    """SHA-256 of the canonical JSON of (scenario, seed, replication, version)."""
    blob = json.dumps({"s": scenario, "seed": int(seed), "rep": int(replication), "v": version}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def new_owner() -> str:
    """A lease owner name: ``host:pid:nonce`` (the nonce tells apart two stores in one process)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _owner_is_dead(owner: str) -> bool:
    """True only when ``owner`` names a process on this host that no longer runs."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # a killed process its parent has not reaped yet is a zombie: gone all the same
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _url(db: str | Path) -> str:
    s = str(db)
    if "://" in s:
        return s
    return f"sqlite:///{Path(s).resolve()}"


def _migrate(engine: sa.Engine) -> None:
    """Bring a runs table made by an older version up to date (lease columns, 64-bit seeds).
    Safe when several processes start at once: a column another one just added is fine."""
    cols = {c["name"]: c for c in sa.inspect(engine).get_columns("runs")}
    pg = engine.dialect.name == "postgresql"
    for name, ddl in (("owner", "VARCHAR(200)"), ("lease_expires", "FLOAT")):
        if name not in cols:
            try:
                with engine.begin() as c:
                    c.exec_driver_sql(f"ALTER TABLE runs ADD COLUMN {'IF NOT EXISTS ' if pg else ''}{name} {ddl}")
            except sa.exc.DBAPIError:  # added concurrently by another process
                pass
    if pg and "seed" in cols and not isinstance(cols["seed"]["type"], sa.BigInteger):
        with engine.begin() as c:
            c.exec_driver_sql("ALTER TABLE runs ALTER COLUMN seed TYPE BIGINT")


class Store:
    """``Store("twin.db")`` or ``Store("postgresql://user@host/db", data_dir=...)``.

    ``owner`` names the lease holder of the runs this store creates (default: a fresh
    ``host:pid:nonce``); ``lease_s`` is how long a lease lasts without renewal (None: held for
    as long as the owning process lives).
    """

    def __init__(self, db: str | Path = "twin.db", data_dir: str | Path | None = None, *, owner: str | None = None,
                 lease_s: float | None = None):
        self.url = _url(db)
        kw: dict[str, Any] = {}
        if self.url.startswith("sqlite"):
            kw["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if self.url.startswith("postgresql://"):
            self.url = "postgresql+psycopg://" + self.url[len("postgresql://"):]
        self.engine = sa.create_engine(self.url, **kw)
        if self.url.startswith("sqlite"):
            with self.engine.connect() as c:
                c.exec_driver_sql("PRAGMA journal_mode=WAL")
        try:
            _meta.create_all(self.engine)
        except sa.exc.DBAPIError:  # another process created the tables at the same moment
            _meta.create_all(self.engine)
        _migrate(self.engine)
        if data_dir is None:
            data_dir = (Path(str(db)).resolve().parent / (Path(str(db)).stem + "-data")) if "://" not in str(db) else Path("twin-data")
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.owner = owner or new_owner()
        self.lease_s = lease_s

    # ---- scenarios -----------------------------------------------------------------------------
    def put_scenario(self, name: str, body: dict) -> str:
        sid = str(uuid.uuid4())
        with self.engine.begin() as c:
            c.execute(scenarios.insert().values(id=sid, name=name, body=json.dumps(body), created_at=time.time()))
        return sid

    def get_scenario(self, sid: str) -> dict | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(scenarios).where(scenarios.c.id == sid)).mappings().first()
        return None if row is None else {**row, "body": json.loads(row["body"])}

    def list_scenarios(self, limit: int = 100, offset: int = 0) -> list[dict]:
        with self.engine.connect() as c:
            rows = c.execute(sa.select(scenarios.c.id, scenarios.c.name, scenarios.c.created_at)
                             .order_by(scenarios.c.created_at.desc()).limit(limit).offset(offset)).mappings().all()
        return [dict(r) for r in rows]

    # ---- runs ----------------------------------------------------------------------------------
    def create_run(self, scenario_body: dict, seed: int, replication: int = 0, *, kind: str = "run",
                   parent: str | None = None, scenario_id: str | None = None, status: str = "queued") -> str:
        """A new run leased to this store's owner, ``queued`` (or ``running`` for a caller that
        executes it at once)."""
        if status not in ("queued", "running"):
            raise ValueError(f"a run starts queued or running, not {status!r}")
        rid = str(uuid.uuid4())
        now = time.time()
        with self.engine.begin() as c:
            c.execute(runs.insert().values(
                id=rid, key=content_key(scenario_body, seed, replication), kind=kind, parent=parent,
                scenario_id=scenario_id, scenario_name=str(scenario_body.get("name", ""))[:200],
                scenario_body=json.dumps(scenario_body), seed=int(seed), replication=int(replication),
                status=status, progress=0.0, created_at=now, started_at=now if status == "running" else None,
                owner=self.owner, lease_expires=None if self.lease_s is None else now + self.lease_s))
        return rid

    def transition(self, rid: str, to: str, expect: Iterable[str] | None = None, **fields) -> bool:
        """Compare-and-set: move run ``rid`` to ``to`` if its status is one of ``expect`` (default:
        every status that may go to ``to``). Returns whether this call made the change."""
        expect = tuple(expect) if expect is not None else tuple(s for s, tos in TRANSITIONS.items() if to in tos)
        bad = [s for s in expect if to not in TRANSITIONS.get(s, ())]
        if bad or not expect:
            raise ValueError(f"no transition {bad or '(none)'} -> {to!r}")
        if "kpis" in fields and not isinstance(fields["kpis"], (str, type(None))):
            fields["kpis"] = json.dumps(fields["kpis"])
        if to in TERMINAL:
            fields.setdefault("finished_at", time.time())
        with self.engine.begin() as c:
            res = c.execute(runs.update().where(runs.c.id == rid, runs.c.status.in_(expect)).values(status=to, **fields))
        return res.rowcount == 1

    def start_run(self, rid: str) -> bool:
        """queued -> running; False if the run was cancelled (or recovered) before it started."""
        return self.transition(rid, "running", ("queued",), started_at=time.time())

    def set_progress(self, rid: str, progress: float) -> None:
        with self.engine.begin() as c:
            c.execute(runs.update().where(runs.c.id == rid, runs.c.status == "running").values(progress=float(progress)))

    def status(self, rid: str) -> str | None:
        with self.engine.connect() as c:
            return c.execute(sa.select(runs.c.status).where(runs.c.id == rid)).scalar()

    def finish_run(self, rid: str, result) -> Path | None:
        """Save the result directory atomically, then mark the run done with its KPIs (running or
        cancelling -> done: a result that is complete is kept). Returns None, and removes the saved
        directory, when the run had already ended (e.g. recovered as interrupted)."""
        out = result.save(self.data_dir / rid)
        if self.transition(rid, "done", ("running", "cancelling"), progress=1.0, kpis=result.to_json(), result_dir=str(out)):
            return out
        shutil.rmtree(out, ignore_errors=True)
        return None

    def fail_run(self, rid: str, error: str, status: str = "failed") -> bool:
        """Active -> ``status`` (failed, cancelled or interrupted) with an error text."""
        return self.transition(rid, status, error=error)

    def request_cancel(self, rid: str) -> str | None:
        """Ask run ``rid`` to stop: queued -> cancelled at once, running -> cancelling (the worker
        confirms). Returns the status after the request (unchanged if the run had already ended
        or was already cancelling), None for an unknown run."""
        if self.transition(rid, "cancelled", ("queued",), error="cancelled before start"):
            return "cancelled"
        if self.transition(rid, "cancelling", ("running",)):
            return "cancelling"
        return self.status(rid)

    def get_run(self, rid: str) -> dict | None:
        with self.engine.connect() as c:
            row = c.execute(sa.select(runs).where(runs.c.id == rid)).mappings().first()
        return None if row is None else _run_dict(row)

    def run_kpis_json(self, rid: str) -> tuple[str | None, str | None]:
        """(status, KPI JSON text) of a run without decoding it (fast path for the API)."""
        with self.engine.connect() as c:
            row = c.execute(sa.select(runs.c.status, runs.c.kpis).where(runs.c.id == rid)).first()
        return (None, None) if row is None else (row[0], row[1])

    def list_runs(self, limit: int = 100, offset: int = 0, parent: str | None = None, status: str | None = None) -> list[dict]:
        q = sa.select(runs).order_by(runs.c.created_at.desc()).limit(limit).offset(offset)
        if parent is not None:
            q = q.where(runs.c.parent == parent)
        if status is not None:
            q = q.where(runs.c.status == status)
        with self.engine.connect() as c:
            return [_run_dict(r, body=False) for r in c.execute(q).mappings().all()]

    def find_done(self, scenario_body: dict, seed: int, replication: int = 0) -> dict | None:
        """A finished run with the same content key, if any (cache hit)."""
        key = content_key(scenario_body, seed, replication)
        with self.engine.connect() as c:
            row = c.execute(sa.select(runs).where(runs.c.key == key, runs.c.status == "done")
                            .order_by(runs.c.finished_at.desc()).limit(1)).mappings().first()
        if row is None or row["result_dir"] is None or not Path(row["result_dir"]).exists():
            return None
        return _run_dict(row)

    # ---- leases ----------------------------------------------------------------------------------
    def renew_leases(self) -> int:
        """Extend the lease of every active run this store's owner holds (a server calls this
        every few seconds)."""
        if self.lease_s is None:
            return 0
        with self.engine.begin() as c:
            res = c.execute(runs.update().where(runs.c.owner == self.owner, runs.c.status.in_(ACTIVE))
                            .values(lease_expires=time.time() + self.lease_s))
        return res.rowcount or 0

    def _end_orphans(self, rows, why: str) -> int:
        n = 0
        for r in rows:
            to = _ORPHANED[r["status"]]
            # compare-and-set on the lease too: a renewal that slipped in between wins
            lease = runs.c.lease_expires.is_(None) if r["lease_expires"] is None else runs.c.lease_expires == r["lease_expires"]
            with self.engine.begin() as c:
                res = c.execute(runs.update().where(runs.c.id == r["id"], runs.c.status == r["status"], lease)
                                .values(status=to, error=why if to == "interrupted" else "cancelled; " + why, finished_at=time.time()))
            n += res.rowcount or 0
        return n

    def recover(self, now: float | None = None) -> int:
        """End runs nobody executes any more: active runs whose lease expired, whose owner is a
        dead process on this host, or that have no owner (rows from before leases). Queued and
        running ones become ``interrupted``, ``cancelling`` ones ``cancelled``. Live runs of other
        servers sharing the database are left alone. Returns how many runs were ended."""
        now = time.time() if now is None else now
        with self.engine.connect() as c:
            rows = c.execute(sa.select(runs.c.id, runs.c.status, runs.c.owner, runs.c.lease_expires)
                             .where(runs.c.status.in_(ACTIVE))).mappings().all()
        dead: dict[str, bool] = {}
        orphans = []
        for r in rows:
            owner = r["owner"]
            if owner == self.owner:
                continue
            if owner is None or (r["lease_expires"] is not None and r["lease_expires"] < now):
                orphans.append(r)
            else:
                if owner not in dead:
                    dead[owner] = _owner_is_dead(owner)
                if dead[owner]:
                    orphans.append(r)
        return self._end_orphans(orphans, _GONE)

    def mark_interrupted(self) -> int:
        """At start-up: end runs left behind by a crashed process (same as :meth:`recover`)."""
        return self.recover()

    def release_owned(self, owner: str | None = None, why: str = _GONE) -> int:
        """End every active run held by ``owner`` (default: this store's): a stopping server, or
        its workers when they find the server gone."""
        owner = owner or self.owner
        with self.engine.connect() as c:
            rows = c.execute(sa.select(runs.c.id, runs.c.status, runs.c.owner, runs.c.lease_expires)
                             .where(runs.c.owner == owner, runs.c.status.in_(ACTIVE))).mappings().all()
        return self._end_orphans(rows, why)

    def load_result(self, rid: str):
        from .result import Result

        row = self.get_run(rid)
        if row is None or row["status"] != "done":
            return None
        return Result.load(row["result_dir"])


def _run_dict(row, body: bool = True) -> dict:
    d = dict(row)
    d["kpis"] = json.loads(d["kpis"]) if d.get("kpis") else None
    if body:
        d["scenario_body"] = json.loads(d["scenario_body"])
    else:
        d.pop("scenario_body", None)
    return d
