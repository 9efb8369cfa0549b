"""Results store: scenarios, runs and their KPIs in SQL (SQLite by default, PostgreSQL by URL),
event logs as Parquet directories beside the database.

Every run is keyed by a content hash of (resolved scenario, seed, replication, twin version),
so a repeated run can be served from the store. A result directory is written atomically
(temp dir + rename) before its row is marked ``done``: a crash leaves the run ``running`` (and
``mark_interrupted`` at the next start says so), never a half-written result.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from . import __version__

__all__ = ["Store", "content_key", "STATUSES"]

STATUSES = ("queued", "running", "done", "failed", "cancelled", "interrupted")

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
    sa.Column("seed", sa.Integer, nullable=False),
    sa.Column("replication", sa.Integer, nullable=False, default=0),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("progress", sa.Float, nullable=False, default=0.0),
    sa.Column("kpis", sa.Text, nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("result_dir", sa.Text, nullable=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("started_at", sa.Float, nullable=True),
    sa.Column("finished_at", sa.Float, nullable=True),
)


def content_key(scenario: dict, seed: int, replication: int = 0, version: str = __version__) -> str:
    """SHA-256 of the canonical JSON of (scenario, seed, replication, version)."""
    blob = json.dumps({"s": scenario, "seed": int(seed), "rep": int(replication), "v": version}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _url(db: str | Path) -> str:
    s = str(db)
    if "://" in s:
        return s
    return f"sqlite:///{Path(s).resolve()}"


class Store:
    """``Store("twin.db")`` or ``Store("postgresql://user@host/db", data_dir=...)``."""

    def __init__(self, db: str | Path = "twin.db", data_dir: str | Path | None = None):
        self.url = _url(db)
        kw: dict[str, Any] = {"future": True}
        if self.url.startswith("sqlite"):
            kw["connect_args"] = {"check_same_thread": False, "timeout": 30}
        if self.url.startswith("postgresql://"):
            self.url = "postgresql+psycopg://" + self.url[len("postgresql://"):]
        self.engine = sa.create_engine(self.url, **kw)
        if self.url.startswith("sqlite"):
            with self.engine.connect() as c:
                c.exec_driver_sql("PRAGMA journal_mode=WAL")
        _meta.create_all(self.engine)
        if data_dir is None:
            data_dir = (Path(str(db)).resolve().parent / (Path(str(db)).stem + "-data")) if "://" not in str(db) else Path("twin-data")
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)

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
        rid = str(uuid.uuid4())
        with self.engine.begin() as c:
            c.execute(runs.insert().values(
                id=rid, key=content_key(scenario_body, seed, replication), kind=kind, parent=parent,
                scenario_id=scenario_id, scenario_name=str(scenario_body.get("name", "")),
                scenario_body=json.dumps(scenario_body), seed=int(seed), replication=int(replication),
                status=status, progress=0.0, created_at=time.time()))
        return rid

    def update_run(self, rid: str, **fields) -> None:
        if "kpis" in fields and not isinstance(fields["kpis"], (str, type(None))):
            fields["kpis"] = json.dumps(fields["kpis"])
        with self.engine.begin() as c:
            c.execute(runs.update().where(runs.c.id == rid).values(**fields))

    def start_run(self, rid: str) -> None:
        self.update_run(rid, status="running", started_at=time.time())

    def finish_run(self, rid: str, result) -> Path:
        """Save the result directory atomically, then mark the run done with its KPIs."""
        out = result.save(self.data_dir / rid)
        self.update_run(rid, status="done", progress=1.0, kpis=result.to_json(), result_dir=str(out), finished_at=time.time())
        return out

    def fail_run(self, rid: str, error: str, status: str = "failed") -> None:
        self.update_run(rid, status=status, error=error, finished_at=time.time())

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

    def mark_interrupted(self) -> int:
        """At start-up: runs left queued or running by a crashed process become ``interrupted``."""
        with self.engine.begin() as c:
            res = c.execute(runs.update().where(runs.c.status.in_(["queued", "running"]))
                            .values(status="interrupted", error="the server stopped before the run finished", finished_at=time.time()))
        return res.rowcount or 0

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
