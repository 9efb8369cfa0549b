"""One table of the project's speed: engine, kernels and lockstep latency, each row against its
fair baseline measured in the same run (= 1.00), with the command that reproduces it.

Run from the repository root: ``python benchmarks/report.py`` (5-10 minutes on 2 cores;
``--markdown`` prints the table as it goes into docs/design.md; ``--skip api`` etc. leaves a
section out; ``--parts``, ``--cuts`` and ``--rounds`` change the sizes).

Times are the best of interleaved rounds with the range over the rounds in brackets. Ratios
are time / baseline time (lower is faster) for the engine and lockstep rows, and speed-ups
(baseline time / time, higher is faster) for the kernel rows, as the targets are written.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import measure  # noqa: E402

PY = "python -m pytest benchmarks/{} --benchmark-enable -s"


def _t(v, unit="s", scale=1.0, digits=2):
    return f"{v[0] * scale:.{digits}f} [{v[0] * scale:.{digits}f}-{v[1] * scale:.{digits}f}] {unit}"


def engine_rows(parts: int, rounds: int) -> list[dict]:
    r = measure.engine(parts, rounds=rounds)
    wp, ip, base = r["whole_process"], r["in_process"], "idiomatic"
    names = {"idiomatic": "fair idiomatic SimPy (Store buffers, interrupts, stdlib random)",
             "lean": "lean event-style SimPy (callbacks, no generators)",
             "twin": "twin, SimPy engine (full state log + KPIs)",
             "compiled": "twin, compiled engine"}
    rows = []
    for m in ["idiomatic", "lean", "twin", "compiled"]:
        row = {"section": f"engine, 10-station line, {parts // 1000}k parts", "name": names[m], "threads": "1",
               "cmd": r["commands"][m]}
        if m not in r["models"]:
            row.update(whole="not built", ratio_whole="", inproc="not built", ratio_in="", note="")
        else:
            wc, ic = r["whole_process_cpu"], r["in_process_cpu"]
            row.update(whole=_t(wp[m]), ratio_whole=f"{wp[m][0] / wp[base][0]:.2f}", inproc=_t(ip[m]),
                       ratio_in=f"{ip[m][0] / ip[base][0]:.2f}",
                       note=f"{r['parts'][m]} parts; CPU-time ratios {wc[m] / wc[base]:.2f} / {ic[m] / ic[base]:.2f}")
        if m == "twin":
            mem = r["memory"]
            row["note"] += (f"; target <= {measure.TARGET_TWIN_OVER_IDIOMATIC} whole process; "
                            f"{mem['state_log_B_per_row']:.0f} B per state row in the log, {mem['run_B_per_row']:.0f} B "
                            f"with all the run holds, {mem['peak_with_kpis_B_per_row']:.0f} B peak with KPIs (tracemalloc)")
        if m == "compiled" and m in r["models"]:
            row["note"] += (f"; target <= {measure.TARGET_COMPILED_OVER_IDIOMATIC} whole process; "
                            f"{r['compiled_speedup']:.1f}x the twin SimPy engine in-process (CPU time "
                            f"{r['compiled_speedup_cpu']:.1f}x; target >= {measure.TARGET_COMPILED_SPEEDUP:.0f}x); the engines alone "
                            f"(scenario to Result with every log, no KPIs): {r['run_only_speedup']:.1f}x (CPU "
                            f"{r['run_only_speedup_cpu']:.1f}x), {r['run_only']['compiled'][0]:.2f} s against "
                            f"{r['run_only']['simpy'][0]:.2f} s; same event log as the SimPy engine")
        rows.append(row)
    rows[0]["note"] += f"; same parts as lean (same streams); twin within +-{r['tolerance']:.0f} (4 sigma)"
    return rows


def sweep_rows(points: int, simpy_points: int) -> list[dict]:
    sec = (f"sweep, 10-station line, {measure.TARGET_SWEEP_PARTS // 1000}k parts per point, 2 local workers "
           f"(time for {measure.TARGET_SWEEP_POINTS:,} points extrapolated from the points run)")
    cmd = PY.format("test_bench_experiments.py -k compiled_sweep")
    rows = []
    for eng, n in (("simpy", simpy_points), ("compiled", points)):
        r = measure.sweep(n, engine=eng)
        rows.append({"section": sec, "name": f"twin sweep, {eng} engine", "threads": "2", "whole": "",
                     "inproc": f"{r['extrapolated_s'] / 60:.1f} min", "ratio_in": "",
                     "note": f"{r['points']} points ({r['ok']} ok) in {r['wall_s']:.1f} s = {r['points_per_s']:.1f} points/s; "
                             f"{r['cpu_s_per_point'] * 1e3:.0f} ms CPU per point: {r['extrapolated_free_cores_s'] / 60:.1f} min "
                             f"on two free cores" + (f"; target < {measure.TARGET_SWEEP_S / 60:.0f} min" if eng == "compiled" else ""),
                     "cmd": cmd})
    return rows


def kernel_rows(cuts: int, rounds: int) -> list[dict]:
    r = measure.batch_kernel(cuts, rounds=max(rounds, 3))
    sec = f"kernels, batch cut kernel, {cuts / 1e6:.0f} M cuts"
    cmd = PY.format("test_bench_kernels.py -k fair_numpy")
    rows = []
    for k in r["threads"]:
        nk, kk = r[f"numpy_{k}"], r[f"kernel_{k}"]
        rows.append({"section": sec, "name": "fair numpy (blocked, reused temporaries, constants folded)", "threads": str(k),
                     "inproc": _t(nk, "ms", 1e3, 0), "ratio_in": "1.00", "note": f"{nk[0] / cuts * 1e9:.1f} ns/cut", "cmd": cmd})
        rows.append({"section": sec, "name": "twin cuts_batch (numba)", "threads": str(k), "inproc": _t(kk, "ms", 1e3, 0),
                     "ratio_in": f"{r[f'speedup_{k}']:.2f}x",
                     "note": f"{kk[0] / cuts * 1e9:.1f} ns/cut; target >= {measure.TARGET_BATCH_OVER_NUMPY}x; "
                             f"numba layer {r['threading_layer']}", "cmd": cmd})
    nv = r["numpy_naive_1"]
    rows.append({"section": sec, "name": "numpy with full-size temporaries (the old baseline)", "threads": "1",
                 "inproc": _t(nv, "ms", 1e3, 0), "ratio_in": f"{r['numpy_1'][0] / nv[0]:.2f}x",
                 "note": f"{nv[0] / cuts * 1e9:.1f} ns/cut", "cmd": cmd})
    p = measure.part_kernel(rounds=rounds)
    sec = f"kernels, per-part kernel, {p['n_parts'] // 1000}k parts"
    cmd = PY.format("test_bench_kernels.py -k part_kernel")
    n = p["n_parts"]
    rows.append({"section": sec, "name": "plain Python machined_part (lists, the kernels' formulas)", "threads": "1",
                 "inproc": _t(p["python"], "us/part", 1e6 / n), "ratio_in": "1.00", "note": "", "cmd": cmd})
    rows.append({"section": sec, "name": "twin machined_part (numba), one call per part", "threads": "1",
                 "inproc": _t(p["kernel"], "us/part", 1e6 / n), "ratio_in": f"{p['speedup']:.2f}x",
                 "note": "what processes/machining.py calls per part", "cmd": cmd})
    return rows


def api_rows() -> list[dict]:
    r = measure.lockstep()
    med, p90 = r["median_ms"], r["p90_ms"]
    cmd = PY.format("test_bench_api.py -k lockstep")
    rows = []
    for proto, label, step, floor, fl in (("http", "HTTP", "http_step", "http_noop", "trivial FastAPI POST (async def)"),
                                          ("ws", "WebSocket", "ws_step", "ws_echo", "WebSocket echo"),
                                          ("ua", "OPC UA", "ua_step", "ua_noop", "asyncua method doing nothing")):
        sec = f"lockstep, {label}, one-minute step of the example line"
        rows.append({"section": sec, "name": fl, "threads": "-", "inproc": f"{med[floor]:.3f} ms [p90 {p90[floor]:.3f}]",
                     "ratio_in": "1.00", "note": "median", "cmd": cmd})
        rows.append({"section": sec, "name": f"twin {label} step", "threads": "-", "inproc": f"{med[step]:.3f} ms [p90 {p90[step]:.3f}]",
                     "ratio_in": f"{r['ratio'][proto]:.2f}", "note": f"target <= {measure.TARGET_LOCKSTEP_OVER_FLOOR}", "cmd": cmd})
    rows[0]["note"] += f"; a `def` endpoint (thread pool, as the step): {med['http_noop_sync']:.3f} ms"
    return rows


COLS = [("name", "row"), ("threads", "threads"), ("whole", "whole process"), ("ratio_whole", "ratio"),
        ("inproc", "in-process (latency)"), ("ratio_in", "ratio"), ("note", "notes")]


def markdown(rows: list[dict]) -> str:
    """One Markdown table; a row in bold opens each section."""
    out = ["| " + " | ".join(h for _, h in COLS) + " | command |", "|" + "---|" * (len(COLS) + 1)]
    section = None
    for r in rows:
        if r["section"] != section:
            section = r["section"]
            out.append(f"| **{section}** |" + " |" * len(COLS))
        out.append("| " + " | ".join(str(r.get(k, "")) for k, _ in COLS) + f" | `{r['cmd']}` |")
    return "\n".join(out)


def text(rows: list[dict]) -> str:
    out = []
    section = None
    for r in rows:
        if r["section"] != section:
            section = r["section"]
            out += ["", section]
        cells = [f"{r['name']:<62s}", f"thr {r['threads']:>2s}"]
        if r.get("whole"):
            cells += [f"whole {r['whole']:<26s}", f"{r['ratio_whole']:>6s}"]
        cells += [f"in-process {r['inproc']:<30s}", f"{r['ratio_in']:>6s}"]
        out.append("  " + "  ".join(cells) + (f"  {r['note']}" if r["note"] else ""))
        out.append(f"      $ {r['cmd']}")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", type=int, default=200_000, help="parts of the engine runs (default 200000)")
    ap.add_argument("--cuts", type=int, default=10_000_000, help="cuts of the batch kernel (default 10 M)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds per figure (default 3)")
    ap.add_argument("--sweep-points", type=int, default=200, help="points of the compiled sweep (default 200; simpy: a tenth)")
    ap.add_argument("--skip", action="append", default=[], choices=["engine", "sweep", "kernels", "api"], help="leave a section out")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table (for docs/design.md)")
    a = ap.parse_args(argv)
    rows = []
    if "engine" not in a.skip:
        rows += engine_rows(a.parts, a.rounds)
    if "sweep" not in a.skip:
        rows += sweep_rows(a.sweep_points, max(2, a.sweep_points // 10))
    if "kernels" not in a.skip:
        rows += kernel_rows(a.cuts, a.rounds)
    if "api" not in a.skip:
        rows += api_rows()
    env = measure.environment()
    head = (f"Speed on {datetime.date.today().isoformat()} (Python {env['python']}, SimPy {env['simpy']}, numpy {env['numpy']}, "
            f"numba {env['numba']}, {env['cpus']} CPUs, load average at the end {env['load'][0]:.2f}); "
            "best of interleaved rounds [range over the rounds]; ratio = time / baseline time (engine, lockstep) "
            "or baseline time / time (kernels, marked x)")
    print(head)
    print(markdown(rows) if a.markdown else text(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
