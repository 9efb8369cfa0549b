"""ISO 22400-2 KPIs and line measures from the logs.

Time elements per station (summed over its parallel units), inside the window
[warm-up, horizon]:

* POT  planned operation time = window minus off-shift time
* PDOT planned down time = breaks + planned maintenance
* PBT  planned busy time = POT - PDOT
* APT  actual production time (Executing + Processing)
* AUST actual unit setup time (Executing + Setup)
* ADET actual unit delay time (failures: OutOfService, reason failure)
* ADOT actual unit down time (NotExecuting: starved, blocked, held)
* APMT actual preventive maintenance time

KPIs: A = APT/PBT (1 with a flag when PBT = 0), E = sum(PRI) x PQ / APT (uncapped, flagged
above 1), QR = GQ/PQ, OEE = A x E x QR, technical efficiency = APT/(APT+ADET), setup rate =
AUST/(APT+AUST), scrap and rework ratios, MTBF = (PBT - ADET)/failures, MTTR = ADET/failures.
Shares (utilisation = (APT+AUST)/PBT, blocked, starved, down) are of PBT.

The line's bottleneck follows the average active-period method (Roser, Nakano, Tanaka 2001):
a station is *active* unless starved, blocked or held (failures and maintenance are active);
the station with the longest mean active period is the bottleneck.

Lots (release by ``lots`` or ``demand``; the result's ``lots`` table): per lot (``kpis["lots"]``)
its good and scrapped parts, release, completion (its last part left the line, good or scrap),
lead time = completion - release, due date, lateness = completion - due and on time (1/0); on the
line the lots released and completed in the window, their mean and longest lead time, the
due-date adherence (share of the lots due in the window that were complete by their due date)
and the mean tardiness max(0, lateness) of the lots completed in the window.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .states import N_CODES, Code, Outcome, PartEvent

__all__ = ["state_durations", "compute_kpis", "iso_station_kpis", "lot_kpis"]

ACTIVE = np.zeros(N_CODES, dtype=bool)
ACTIVE[[Code.PROCESSING, Code.SETUP, Code.FAILURE, Code.PLANNED_MAINTENANCE]] = True


def _rows(t: np.ndarray, res: np.ndarray, code: np.ndarray, t0: float, t1: float):
    """Rows grouped by resource (time order kept, stable radix sort on a 16-bit key), with each
    row's duration clipped to [t0, t1]. Returns (resource, code, duration, first-row-of-resource)."""
    # (few and in-place temporaries: on a 7 M-row log a first call pays more for fresh pages than for arithmetic)
    k = res.astype(np.int16) if len(res) and res.max() < 32767 else res
    order = np.argsort(k, kind="stable")
    del k
    ts, rs, cs = t[order], res[order], code[order]
    del order
    newres = np.ones(len(ts), dtype=bool)
    np.not_equal(rs[1:], rs[:-1], out=newres[1:])
    nxt = np.empty_like(ts)
    nxt[:-1] = ts[1:]
    nxt[-1] = t1
    nxt[:-1][newres[1:]] = t1  # the last row of each resource runs to the end of the window
    np.clip(nxt, t0, t1, out=nxt)
    np.clip(ts, t0, t1, out=ts)
    nxt -= ts
    return rs, cs, nxt, newres


def state_durations(t: np.ndarray, res: np.ndarray, code: np.ndarray, n_res: int, t0: float, t1: float, rows=None) -> np.ndarray:
    """Time [s] each resource spent in each state code within [t0, t1]: shape (n_res, N_CODES)."""
    if len(t) == 0:
        return np.zeros((n_res, N_CODES))
    rs, cs, d, _ = rows if rows is not None else _rows(t, res, code, t0, t1)
    key = rs.astype(np.int64)
    key *= N_CODES
    key += cs
    return np.bincount(key, weights=d, minlength=n_res * N_CODES).reshape(n_res, N_CODES)


def active_periods(t, res, code, n_res: int, t0: float, t1: float, rows=None) -> list[np.ndarray]:
    """Durations of the maximal active periods of each resource inside [t0, t1]."""
    if len(t) == 0:
        return [np.zeros(0) for _ in range(n_res)]
    rs, cs, d, newres = rows if rows is not None else _rows(t, res, code, t0, t1)
    act = ACTIVE[cs]
    prev_act = np.zeros(len(rs), dtype=bool)
    prev_act[1:] = act[:-1]
    np.logical_not(prev_act, out=prev_act)
    prev_act |= newres
    start = prev_act
    start &= act
    run_id = np.cumsum(start, dtype=np.int64)
    run_id -= 1
    sel = act  # (run_id >= 0 wherever act: a resource's first active row starts a run)
    sums = np.bincount(run_id[sel], weights=d[sel], minlength=int(start.sum()))
    run_res = rs[start]  # (rows are grouped by resource, so the runs already are: no sort)
    keep = sums > 0
    srt, run_res = sums[keep], run_res[keep]
    bounds = np.searchsorted(run_res, np.arange(n_res + 1))
    return [srt[bounds[r]:bounds[r + 1]] for r in range(n_res)]


def _ratio(a: float, b: float) -> float | None:
    return a / b if b > 0 else None


def iso_station_kpis(el: dict[str, float], pq: float, gq: float, sq: float, rq: float, pri_sum: float, failures: int) -> dict[str, Any]:
    """KPIs from ISO 22400 time elements ``el`` (POT, PDOT, PBT, APT, AUST, ADET, ADOT, APMT, blocked, starved)."""
    pbt, apt, aust, adet = el["PBT"], el["APT"], el["AUST"], el["ADET"]
    flags = []
    if pbt > 0:
        a = apt / pbt
    else:
        a = 1.0
        flags.append("PBT=0: availability reported as 1")
    e = _ratio(pri_sum, apt)
    if e is not None and e > 1 + 1e-9:
        flags.append("effectiveness > 1: parts whose operation began before the window count in it (ISO 22400 PQ), "
                     "or the ideal cycle time (PRI) is pessimistic")
    qr = _ratio(gq, pq)
    oee = a * e * qr if (e is not None and qr is not None) else None
    return {
        **{k: el[k] for k in ("POT", "PDOT", "PBT", "APT", "AUST", "ADET", "ADOT", "APMT")},
        "PQ": pq, "GQ": gq, "SQ": sq, "RQ": rq,
        "availability": a,
        "effectiveness": e,
        "quality_ratio": qr,
        "oee": oee,
        "technical_efficiency": _ratio(apt, apt + adet),
        "setup_rate": _ratio(aust, apt + aust),
        "scrap_ratio": _ratio(sq, pq),
        "rework_ratio": _ratio(rq, pq),
        "failures": failures,
        "mtbf_s": _ratio(pbt - adet, failures),
        "mttr_s": _ratio(adet, failures),
        "utilization": _ratio(apt + aust, pbt),
        "blocked_share": _ratio(el["blocked"], pbt),
        "starved_share": _ratio(el["starved"], pbt),
        "down_share": _ratio(adet, pbt),
        "setup_share": _ratio(aust, pbt),
        "flags": flags,
    }


def time_elements(dur_row: np.ndarray, window: float) -> dict[str, float]:
    """ISO 22400 time elements from one resource's (or a station's summed) state durations."""
    off = dur_row[Code.OFF_SHIFT]
    pot = window - off
    pdot = dur_row[Code.BREAK] + dur_row[Code.PLANNED_MAINTENANCE]
    return {
        "POT": float(pot),
        "PDOT": float(pdot),
        "PBT": float(pot - pdot),
        "APT": float(dur_row[Code.PROCESSING]),
        "AUST": float(dur_row[Code.SETUP]),
        "ADET": float(dur_row[Code.FAILURE]),
        "ADOT": float(dur_row[Code.STARVED] + dur_row[Code.BLOCKED] + dur_row[Code.HELD]),
        "APMT": float(dur_row[Code.PLANNED_MAINTENANCE]),
        "blocked": float(dur_row[Code.BLOCKED]),
        "starved": float(dur_row[Code.STARVED]),
    }


def _pacing_elements(r, stations: dict, pri_sums, sidx: dict) -> tuple[dict, list[str]]:
    """Line time elements and A, E from the pacing step (see :func:`twin.result._pacing_step`):
    its planned busy and actual production time per unit, A = APT / PBT and E = sum(PRI of its
    operations) / APT, so that line OEE = A x E x QR with each factor the ISO 22400-2 one of the
    work unit that paces the line."""
    names = [s for s in getattr(r, "pacing", []) if s in stations]
    if not names:
        return {}, []
    n_units = sum(stations[s]["units"] for s in names) or 1
    pbt = sum(stations[s]["PBT"] for s in names)
    apt = sum(stations[s]["APT"] for s in names)
    pri = float(sum(pri_sums[sidx[s]] for s in names))
    flags = []
    groups = (r.scenario or {}).get("groups", {}) if isinstance(r.scenario, dict) else {}
    label = next((g for g, m in groups.items() if sorted(m) == sorted(names)), None) or "|".join(names)
    if pbt > 0:
        a = apt / pbt
    else:
        a = 1.0
        flags.append(f"PBT=0 at the pacing step {label}: availability reported as 1")
    e = _ratio(pri, apt)
    if e is not None and e > 1 + 1e-9:
        flags.append("effectiveness > 1 at the pacing step: parts whose operation began before the window count in it "
                     "(ISO 22400 PQ), or the ideal cycle time (PRI) is pessimistic")
    return {"name": label, "POT": sum(stations[s]["POT"] for s in names) / n_units, "PBT": pbt / n_units,
            "APT": apt / n_units, "availability": a, "effectiveness": e}, flags


def compute_kpis(r) -> dict[str, Any]:
    """All KPIs of a :class:`~twin.result.Result` as a JSON-ready dict with stable keys."""
    t0, t1 = r.warmup, r.horizon
    window = t1 - t0
    st = r.state
    n_res = len(r.resources)
    if getattr(r, "engine", "simpy") == "compiled" and len(st["t"]):
        # numba is running already: one pass instead of the sort (bit-identical, see kernels/engine_kpi.py)
        from .kernels.engine_kpi import state_pass

        dur, p_res, p_sum = state_pass(st["t"], st["resource"], st["code"], n_res, float(t0), float(t1), ACTIVE, N_CODES)
        order = np.argsort(p_res, kind="stable")
        bounds = np.searchsorted(p_res[order], np.arange(n_res + 1))
        srt = p_sum[order]
        periods = [srt[bounds[i]:bounds[i + 1]] for i in range(n_res)]
    else:
        rows = _rows(st["t"], st["resource"], st["code"], t0, t1) if len(st["t"]) else None
        dur = state_durations(st["t"], st["resource"], st["code"], n_res, t0, t1, rows)
        periods = active_periods(st["t"], st["resource"], st["code"], n_res, t0, t1, rows)
    ops = r.ops
    fl = r.failures
    res_station = [s for _, s in r.resources]
    station_names = list(dict.fromkeys(res_station))
    sidx = {s: i for i, s in enumerate(station_names)}
    n_st = len(station_names)
    st_of_res = np.array([sidx[s] for s in res_station], dtype=np.int64)
    # per-operation aggregates, vectorised: (station, outcome) counts and PRI sums
    if len(ops["t_end"]):
        # operations are logged when they end, so t_end is sorted: the window is a slice
        w = slice(int(np.searchsorted(ops["t_end"], t0, "left")), int(np.searchsorted(ops["t_end"], t1, "left")))
        o_st = st_of_res[ops["resource"][w]]
        o_out = ops["outcome"][w].astype(np.int64)
        counts = np.bincount(o_st * 3 + o_out, minlength=n_st * 3).reshape(n_st, 3).astype(float)
        single = all(len(set(d.values())) <= 1 for d in r.pri.values())
        if single:  # one ideal cycle time per station: PRI sum = PQ x PRI
            pri_of = np.array([next(iter(r.pri.get(s, {0: 0.0}).values()), 0.0) for s in station_names])
            pri_sums = counts.sum(axis=1) * pri_of
        else:
            o_prod = r.part_product[ops["part"][w]].astype(np.int64)
            o_step = ops["step"][w].astype(np.int64)
            max_step = int(o_step.max()) + 1 if len(o_step) else 1
            table = np.zeros((n_st, len(r.products), max_step))
            for s, d in r.pri.items():
                if s in sidx:
                    for (p, k), v in d.items():
                        if k < max_step:
                            table[sidx[s], p, k] = v
            pri_sums = np.bincount(o_st, weights=table[o_st, o_prod, o_step], minlength=n_st)
    else:
        counts = np.zeros((n_st, 3))
        pri_sums = np.zeros(n_st)
    if len(fl["t"]):
        fw = (fl["t"] >= t0) & (fl["t"] < t1)
        n_fail = np.bincount(st_of_res[fl["resource"][fw]], minlength=n_st)
    else:
        n_fail = np.zeros(n_st, dtype=np.int64)
    stations: dict[str, Any] = {}
    energy_total = 0.0
    bn_scores = {}
    for s in station_names:
        i = sidx[s]
        rids = np.flatnonzero(st_of_res == i)
        rowsum = dur[rids].sum(axis=0)
        el = time_elements(rowsum, window * len(rids))
        gq, sq, rq = counts[i, Outcome.GOOD], counts[i, Outcome.SCRAP], counts[i, Outcome.REWORK]
        k = iso_station_kpis(el, gq + sq + rq, gq, sq, rq, float(pri_sums[i]), int(n_fail[i]))
        if not r.pri.get(s):  # not on any routing (robot, AGV fleet): no ideal cycle time, no E / OEE
            k["effectiveness"] = None
            k["oee"] = None
        power = r.power.get(s)
        e_j = float(r.extra_energy.get(s, 0.0))
        if power is not None:
            e_j += float(np.dot(rowsum, power))
        energy_total += e_j
        per = np.concatenate([periods[j] for j in rids]) if len(rids) else np.zeros(0)
        mean_active = float(per.mean()) if len(per) else 0.0
        bn_scores[s] = mean_active
        k.update({"units": int(len(rids)), "energy_J": e_j, "energy_kWh": e_j / 3.6e6, "mean_active_period_s": mean_active})
        stations[s] = k

    # ---- line ------------------------------------------------------------------------------------
    pl = r.parts
    rel_t = pl["t_release"]
    done_t = pl["t_exit"]
    outcome = pl["outcome"]  # 0 wip, 1 complete, 2 scrap
    completed_w = (outcome == 1) & (done_t >= t0) & (done_t < t1)
    scrapped_w = (outcome == 2) & (done_t >= t0) & (done_t < t1)
    n_done = int(completed_w.sum())
    exit_or_end = np.where(outcome == 0, t1, done_t)
    overlap = np.clip(np.minimum(exit_or_end, t1) - np.maximum(rel_t, t0), 0.0, None)
    wip_mean = float(overlap.sum() / window)
    lt = (done_t - rel_t)[completed_w]
    due = pl["due"][completed_w]
    finite_due = np.isfinite(due)
    pq_line = n_done + int(scrapped_w.sum())
    qr_line = _ratio(n_done, pq_line)
    line_el, line_flags = _pacing_elements(r, stations, pri_sums, sidx)
    a_line, e_line = line_el.get("availability"), line_el.get("effectiveness")
    line_oee = a_line * e_line * qr_line if (a_line is not None and e_line is not None and qr_line is not None) else None
    bottleneck = max(station_names, key=lambda s: bn_scores[s]) if station_names else None
    throughput = n_done / window * 3600.0
    line = {
        "parts_released": int(len(rel_t)),
        "parts_completed": n_done,
        "parts_scrapped": int(scrapped_w.sum()),
        "parts_completed_total": int((outcome == 1).sum()),
        "parts_scrapped_total": int((outcome == 2).sum()),
        "wip_end": int((outcome == 0).sum()),
        "throughput_per_hour": throughput,
        "wip_mean": wip_mean,
        "lead_time_mean_s": float(lt.mean()) if len(lt) else None,
        "lead_time_p50_s": float(np.percentile(lt, 50)) if len(lt) else None,
        "lead_time_p95_s": float(np.percentile(lt, 95)) if len(lt) else None,
        "littles_law_wip": float((n_done + int(scrapped_w.sum())) / window * (float(((done_t - rel_t)[completed_w | scrapped_w]).mean()) if pq_line else 0.0)),
        "tardy_share": float((lt[finite_due] + rel_t[completed_w][finite_due] > due[finite_due]).mean()) if finite_due.any() else None,
        "pacing_station": line_el.get("name"),
        "POT": line_el.get("POT"),
        "PBT": line_el.get("PBT"),
        "APT": line_el.get("APT"),
        "availability": a_line,
        "effectiveness": e_line,
        "quality_ratio": qr_line,
        "oee": line_oee,
        "scrap_ratio": _ratio(int(scrapped_w.sum()), pq_line),
        "energy_J": energy_total,
        "energy_kWh": energy_total / 3.6e6,
        "energy_per_good_part_J": _ratio(energy_total, n_done),
        "bottleneck": bottleneck,
        "flags": line_flags,
    }
    buffers = {}
    lv = r.levels
    if len(lv["t"]):
        key = lv["buffer"].astype(np.int16) if len(r.buffer_names) < 32767 else lv["buffer"]
        order = np.argsort(key, kind="stable")
        bt, bb, bl = lv["t"][order], lv["buffer"][order], lv["level"][order]
        bounds = np.searchsorted(bb, np.arange(len(r.buffer_names) + 1))
        for b, name in enumerate(r.buffer_names):
            t, level = bt[bounds[b]:bounds[b + 1]], bl[bounds[b]:bounds[b + 1]]
            if len(t) == 0:
                continue
            nxt = np.append(t[1:], t1)
            d = np.clip(nxt, t0, t1) - np.clip(t, t0, t1)
            buffers[name] = {"mean_level": float((d * level).sum() / window), "max_level": int(level.max())}
    lots_table = r.extra_tables.get("lots")
    lots, lot_line = lot_kpis(lots_table, pl, t0, t1) if lots_table is not None else ({}, {})
    line.update({k: lot_line.get(k) for k in ("lots_released", "lots_completed", "lot_lead_time_mean_s", "lot_lead_time_max_s",
                                             "lot_on_time_share", "lot_tardiness_mean_s")})
    out = {
        "meta": {
            "scenario": r.scenario_name,
            "seed": r.seed,
            "replication": r.replication,
            "horizon_s": t1,
            "warmup_s": t0,
            "version": r.version,
        },
        "line": line,
        "stations": stations,
        "buffers": buffers,
    }
    pools = r.extra_tables.get("pools")
    if pools is not None:
        from .pools import pool_kpis

        out["pools"] = pool_kpis(pools, t0, t1)
    if isinstance(r.scenario, dict) and r.scenario.get("costs"):
        from .costs import cost_kpis

        cl, cs = cost_kpis(r, out)
        line.update(cl)
        for s, d in cs.items():
            stations[s].update(d)
    if lots_table is not None:
        out["lots"] = lots
    return out


def lot_kpis(table, parts: dict, t0: float, t1: float) -> tuple[dict, dict]:
    """Per-lot KPIs (lot name -> dict) and the line's lot KPIs, from the ``lots`` table (lot,
    product, size, first_part, t_release, due; a lot's parts have consecutive ids) and the part
    records (``Result.parts``), over the window [t0, t1). Lots not released by the end are left out."""
    cols = {c: table.column(c).to_pylist() for c in ("lot", "product", "size", "first_part", "t_release", "due")}
    n_parts = len(parts["outcome"])
    first = np.asarray(cols["first_part"], dtype=np.int64)
    size = np.asarray(cols["size"], dtype=np.int64)
    rel = first + size <= n_parts
    k = int(rel.sum())  # released lots are a prefix (release times never decrease)
    out: dict = {}
    line = {"lots_released": k, "lots_completed": 0, "lot_lead_time_mean_s": None, "lot_lead_time_max_s": None,
            "lot_on_time_share": None, "lot_tardiness_mean_s": None}
    if k == 0:
        return out, line
    outcome = parts["outcome"]
    exit_t = np.where(outcome == 0, -np.inf, parts["t_exit"])
    starts = first[:k]
    good = np.add.reduceat((outcome == 1).astype(np.int64), starts)
    scrap = np.add.reduceat((outcome == 2).astype(np.int64), starts)
    last = np.maximum.reduceat(exit_t, starts)
    if starts[-1] + size[k - 1] < n_parts:  # reduceat's last segment runs to the end of the parts: cut it to the lot
        end = starts[-1] + size[k - 1]
        good[-1] = int((outcome[starts[-1]:end] == 1).sum())
        scrap[-1] = int((outcome[starts[-1]:end] == 2).sum())
        last[-1] = exit_t[starts[-1]:end].max()
    release = np.asarray(cols["t_release"][:k], dtype=float)
    due = np.asarray(cols["due"][:k], dtype=float)
    done = good + scrap == size[:k]
    completion = np.where(done, last, np.nan)
    lead = completion - release
    late = completion - due
    for j in range(k):
        c, d = bool(done[j]), math.isfinite(due[j])
        if c and d:
            on_time = 1.0 if late[j] <= 0 else 0.0
        elif d and not c and t1 > due[j]:
            on_time = 0.0
        else:
            on_time = None
        out[cols["lot"][j]] = {
            "product": cols["product"][j], "size": int(size[j]), "good": int(good[j]), "scrapped": int(scrap[j]),
            "release_s": float(release[j]), "completion_s": float(completion[j]) if c else None,
            "lead_time_s": float(lead[j]) if c else None, "due_s": float(due[j]) if d else None,
            "lateness_s": float(late[j]) if (c and d) else None, "on_time": on_time}
    in_w = done & (completion >= t0) & (completion < t1)
    line["lots_completed"] = int(in_w.sum())
    if in_w.any():
        line["lot_lead_time_mean_s"] = float(lead[in_w].mean())
        line["lot_lead_time_max_s"] = float(lead[in_w].max())
    dated = in_w & np.isfinite(due)
    if dated.any():
        line["lot_tardiness_mean_s"] = float(np.maximum(0.0, late[dated]).mean())
    due_in_w = np.isfinite(due) & (due >= t0) & (due < t1)
    if due_in_w.any():
        line["lot_on_time_share"] = float((done[due_in_w] & (late[due_in_w] <= 0)).mean())
    return out, line
