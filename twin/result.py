"""Results of a run: logs as numpy columns and Arrow tables, KPIs, save and load.

``Result.events`` is the state log as an Arrow table with columns ``t, resource, station,
item_state, op_mode, reason, code, part``; ``.to_pandas()`` works on every table. ``save(dir)``
writes ``kpis.json``, the logs as Parquet, the resolved scenario and ``meta.json`` into a
temporary directory that is renamed into place only when complete, so a crash never leaves a
half-written result behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .calendar import total
from .states import CODE_FIELDS, N_CODES, OUTCOMES, Code, PartEvent

__all__ = ["Result"]

_LOGS = ("state", "ops", "levels", "failures", "part_events")


from .pools import pool_table


class Result:
    """Everything a run produced; KPIs are computed on first access.

    ``engine``: which engine played the run (``simpy`` or ``compiled``); ``engine_reasons``: why
    the compiled engine did not, when ``auto`` was asked for (empty otherwise)."""

    engine: str = "simpy"
    engine_reasons: tuple[str, ...] = ()

    def __init__(self, **kw: Any):
        self.__dict__.update(kw)

    # ---- construction ------------------------------------------------------------------------
    @classmethod
    def from_run(cls, run, until: float | None = None) -> "Result":
        """The result of ``run``; ``until`` (default: the horizon) ends the KPI window earlier,
        e.g. at the current time of a lockstep session."""
        sc = run.scenario
        H, W = (run.horizon if until is None else float(until)), run.warmup
        pri = {name: st.ideal_cycle_times() for name, st in run.stations.items()}
        pri = {name: d for name, d in pri.items() if d}
        power = {name: st.power_by_state() for name, st in run.stations.items()}
        extra = {name: float(st.process_energy_J()) for name, st in run.stations.items()}
        units = {name: st.resource_count() for name, st in run.stations.items()}
        tables = dict(run.extra_tables)
        if run.pool_names:
            tables["pools"] = pool_table(run)
        for st in run.stations.values():
            tables.update(st.tables())
        feats = run.feature_log.table()
        if feats is not None:
            tables["features"] = feats
        maint = run.maintenance_log.table([n for n, _ in run.resources])
        if maint is not None:
            tables["maintenance"] = maint
        pacing = _pacing_step(sc, run.products, pri, units)
        return cls(
            scenario=sc.dump(),
            scenario_name=sc.name,
            seed=run.seed,
            replication=run.replication,
            horizon=H,
            warmup=W,
            version=__version__,
            resources=list(run.resources),
            buffer_names=list(run.buffer_names),
            products=list(run.products),
            pri={s: {f"{p}:{k}": v for (p, k), v in d.items()} for s, d in pri.items()},
            pacing=pacing,
            power=power,
            extra_energy=extra,
            state=run.state_log.numpy(copy=not run.finished),
            ops=run.ops_log.numpy(copy=not run.finished),
            levels=run.level_log.numpy(copy=not run.finished),
            failures=run.failure_log.numpy(copy=not run.finished),
            part_events=run.part_log.numpy(copy=not run.finished),
            commands=list(run.command_log.rows),
            extra_tables=tables,
        )

    # ---- derived views -----------------------------------------------------------------------
    @cached_property
    def pri_table(self) -> dict[str, dict[tuple[int, int], float]]:
        return {s: {tuple(int(x) for x in k.split(":")): v for k, v in d.items()} for s, d in self.pri.items()}

    @cached_property
    def parts(self) -> dict[str, np.ndarray]:
        """One row per part: release time, exit time (nan while in WIP), outcome 0 wip / 1 complete / 2 scrap."""
        pe = self.part_events
        n = int(pe["part"].max()) + 1 if len(pe["part"]) else 0
        rel = pe["event"] == PartEvent.RELEASE
        t_release = np.full(n, np.nan)
        product = np.zeros(n, dtype=np.int32)
        due = np.full(n, np.inf)
        t_release[pe["part"][rel]] = pe["t"][rel]
        product[pe["part"][rel]] = pe["product"][rel]
        due[pe["part"][rel]] = pe["due"][rel]
        t_exit = np.full(n, np.nan)
        outcome = np.zeros(n, dtype=np.int8)
        for ev, code in ((PartEvent.COMPLETE, 1), (PartEvent.SCRAP, 2)):
            m = pe["event"] == ev
            t_exit[pe["part"][m]] = pe["t"][m]
            outcome[pe["part"][m]] = code
        return {"part": np.arange(n), "product": product, "t_release": t_release, "t_exit": t_exit, "outcome": outcome, "due": due}

    @property
    def part_product(self) -> np.ndarray:
        return self.parts["product"]

    @cached_property
    def kpis(self) -> dict[str, Any]:
        from .kpi import compute_kpis

        view = _KpiView(self)
        return compute_kpis(view)

    # ---- charts ------------------------------------------------------------------------------
    @property
    def plot(self):
        """The report's charts as plotly figures: ``res.plot.time_in_state()``, ``.gantt(t0, t1)``,
        ``.levels()``, ``.throughput_per_shift()``, ``.shifting_bottleneck()``, ``.lead_time()``,
        ``.energy_by_state()`` (:class:`twin.report.Plots`)."""
        from .report import Plots

        return Plots(self)

    def _repr_html_(self) -> str:
        from .report import result_html

        return result_html(self)

    def report(self, path, png_dir=None) -> Path:
        """Write the self-contained HTML report of this result (``twin report``'s page) to ``path``;
        with ``png_dir``, its charts as PNG files too."""
        from .report import run_report, to_png

        page, charts = run_report(self)
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(page, encoding="utf-8")
        if png_dir is not None:
            for ch in charts:
                to_png(ch, Path(png_dir) / f"{ch.key}.png")
        return p

    # ---- Arrow tables ------------------------------------------------------------------------
    def _dict_col(self, idx: np.ndarray, names: list[str]):
        """Dictionary-encoded strings (unique dictionary, so pandas gets a clean Categorical)."""
        import pyarrow as pa

        uniq = list(dict.fromkeys(names))
        remap = np.array([uniq.index(n) for n in names], dtype=np.int32) if names else np.zeros(0, np.int32)
        codes = remap[idx.astype(np.int64)] if len(idx) else np.zeros(0, np.int32)
        return pa.DictionaryArray.from_arrays(pa.array(codes), pa.array(uniq, pa.string()))

    @cached_property
    def events(self):
        """The state log as an Arrow table."""
        import pyarrow as pa

        s = self.state
        res_names = [n for n, _ in self.resources]
        st_names = list(dict.fromkeys(st for _, st in self.resources))
        res_station = np.array([st_names.index(st) for _, st in self.resources], dtype=np.int32)
        codes = s["code"].astype(np.int32)
        fields = [CODE_FIELDS[Code(c)] for c in range(N_CODES)]
        return pa.table({
            "t": pa.array(s["t"]),
            "resource": self._dict_col(s["resource"], res_names),
            "station": self._dict_col(res_station[s["resource"]] if len(codes) else codes, st_names),
            "item_state": self._dict_col(codes, [f[0] for f in fields]),
            "op_mode": self._dict_col(codes, [f[1] for f in fields]),
            "reason": self._dict_col(codes, [f[2] for f in fields]),
            "code": pa.array(s["code"]),
            "part": pa.array(s["part"]),
        })

    @cached_property
    def operations(self):
        import pyarrow as pa

        o = self.ops
        res_names = [n for n, _ in self.resources]
        return pa.table({
            "part": pa.array(o["part"]),
            "product": self._dict_col(self.part_product[o["part"]] if len(o["part"]) else o["part"], self.products),
            "resource": self._dict_col(o["resource"], res_names),
            "step": pa.array(o["step"]),
            "t_start": pa.array(o["t_start"]),
            "t_end": pa.array(o["t_end"]),
            "outcome": self._dict_col(o["outcome"].astype(np.int32), OUTCOMES),
        })

    @cached_property
    def part_table(self):
        import pyarrow as pa

        p = self.parts
        return pa.table({
            "part": pa.array(p["part"]),
            "product": self._dict_col(p["product"], self.products),
            "t_release": pa.array(p["t_release"]),
            "t_exit": pa.array(p["t_exit"]),
            "outcome": self._dict_col(p["outcome"].astype(np.int32), ["wip", "complete", "scrap"]),
            "due": pa.array(p["due"]),
        })

    @cached_property
    def level_table(self):
        import pyarrow as pa

        lv = self.levels
        return pa.table({"t": pa.array(lv["t"]), "buffer": self._dict_col(lv["buffer"], self.buffer_names), "level": pa.array(lv["level"])})

    @cached_property
    def failure_table(self):
        import pyarrow as pa

        f = self.failures
        return pa.table({"t": pa.array(f["t"]), "resource": self._dict_col(f["resource"], [n for n, _ in self.resources]),
                         "profile": pa.array(f["profile"]), "ttr": pa.array(f["ttr"])})

    def tables(self) -> dict[str, Any]:
        out = {"events": self.events, "operations": self.operations, "parts": self.part_table,
               "levels": self.level_table, "failures": self.failure_table}
        out.update(self.extra_tables)
        return out

    # ---- identity ----------------------------------------------------------------------------
    def event_log_hash(self) -> str:
        """SHA-256 over every log column: equal for equal runs, byte for byte."""
        h = hashlib.sha256()
        for log in _LOGS:
            cols = getattr(self, log)
            for name in sorted(cols):
                h.update(name.encode())
                h.update(np.ascontiguousarray(cols[name]).tobytes())
        return h.hexdigest()

    # ---- persistence -------------------------------------------------------------------------
    def to_json(self) -> str:
        return json.dumps(self.kpis, indent=2, sort_keys=True, allow_nan=False, default=_jsonable)

    def save(self, out_dir: str | Path) -> Path:
        """Write the result to ``out_dir`` atomically (temp dir + rename)."""
        import pyarrow.parquet as pq
        import yaml

        out = Path(out_dir)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        try:
            (tmp / "kpis.json").write_text(self.to_json() + "\n")
            for name, table in self.tables().items():
                pq.write_table(table, tmp / f"{name}.parquet")
            (tmp / "scenario.yaml").write_text(yaml.safe_dump(self.scenario, sort_keys=False))
            meta = {k: getattr(self, k) for k in ("scenario_name", "seed", "replication", "horizon", "warmup", "version",
                                                   "resources", "buffer_names", "products", "pri", "pacing", "power",
                                                   "extra_energy")}
            meta["event_log_hash"] = self.event_log_hash()
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1, default=_jsonable))
            np.savez_compressed(tmp / "logs.npz", **{f"{log}.{k}": v for log in _LOGS for k, v in getattr(self, log).items()})
            if out.exists():
                old = out.with_name(f".{out.name}.old")
                if old.exists():
                    shutil.rmtree(old)
                os.replace(out, old)
                os.replace(tmp, out)
                shutil.rmtree(old)
            else:
                os.replace(tmp, out)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return out

    @classmethod
    def load(cls, path: str | Path) -> "Result":
        """Read a result written by :meth:`save` (no re-simulation)."""
        import yaml

        p = Path(path)
        if not (p / "meta.json").exists():
            raise FileNotFoundError(f"{p} is not a twin result directory (no meta.json)")
        meta = json.loads((p / "meta.json").read_text())
        meta.pop("event_log_hash", None)
        for old in ("line_pri", "calendar_off", "calendar_breaks"):  # results saved by earlier versions
            meta.pop(old, None)
        meta.setdefault("pacing", [])
        meta["resources"] = [tuple(x) for x in meta["resources"]]
        logs: dict[str, dict] = {log: {} for log in _LOGS}
        with np.load(p / "logs.npz") as z:
            for key in z.files:
                log, col = key.split(".", 1)
                logs[log][col] = z[key]
        extra = {}
        import pyarrow.parquet as pq

        for f in p.glob("*.parquet"):
            if f.stem not in ("events", "operations", "parts", "levels", "failures"):
                extra[f.stem] = pq.read_table(f)
        return cls(scenario=yaml.safe_load((p / "scenario.yaml").read_text()), commands=[], extra_tables=extra, **meta, **logs)


def _pacing_step(sc, products: list[str], pri: dict, units: dict) -> list[str]:
    """The routing step that paces the line: the largest planned load, summed over the products
    that visit it, of (share of the product) x (its ideal cycle time there) / (units in the step).
    Shares: ``mix`` (saturated and arrival release), ordered quantities (orders), lot sizes (lots)
    or demand per period (demand): the release's ``product_shares``. Returns the
    step's stations (a group's members); the first in routing order on ties; [] if no step has
    an ideal cycle time."""
    shares = sc.release.product_shares(sc)
    share = [shares.get(p, 0.0) for p in products]
    tot = sum(share) or 1.0
    loads: dict[tuple[str, ...], float] = {}
    for p, pname in enumerate(products):
        for i, step in enumerate(sc.products[pname].routing):
            members = tuple(step.members(sc.groups))
            vals = [pri[m][(p, i)] for m in members if m in pri and (p, i) in pri[m]]
            if not vals:
                continue
            n = sum(units.get(m, 1) for m in members) or 1
            loads[members] = loads.get(members, 0.0) + share[p] / tot * (sum(vals) / len(vals)) / n
    if not loads:
        return []
    best = max(loads.values())
    return list(next(m for m, v in loads.items() if v >= best * (1 - 1e-12)))


class _KpiView:
    """Adapter giving compute_kpis the shapes it expects."""

    def __init__(self, r: Result):
        self._r = r
        self.pri = r.pri_table
        self.power = {s: np.asarray(v, float) for s, v in r.power.items()}

    def __getattr__(self, name):
        return getattr(self._r, name)


def _jsonable(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
