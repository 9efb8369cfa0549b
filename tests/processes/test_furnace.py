"""Batch furnace: cycle from the thermal kernel, full-load and timeout batches, tempering window."""

import math

import numpy as np
import pytest

import twin
import twin.kernels as K


def scen(pt=120.0, batch=10, wait="2 h", window=None, horizon=86400):
    ht = {"kind": "furnace", "batch_size": batch, "max_wait": wait, "set_temperature": "860 degC", "radius": "25 mm",
          "soak": "30 min", "quench": "5 min", "h": 150}
    if window:
        ht["parameter_window"] = window
    return twin.parse_scenario({"horizon": horizon, "seed": 1,
                                "stations": {"M": {"process_time": pt}, "HT": ht, "G": {"process_time": 10}},
                                "products": {"p": {"routing": [{"station": "M"}, {"station": "HT"}, {"station": "G"}]}}})


def test_batch_cycle_is_thermal_kernel_time_plus_soak_and_quench():
    run = twin.Run(scen())
    res = run.run()
    m = K.get_material("42CrMo4")
    heat = K.time_to_core_temperature(K.heat.CYLINDER, 0.025, m.k, m.rho, m.cp, 150.0, 293.15, 1133.15, 1123.15, 31)
    ops = res.operations.to_pandas()
    ht = ops[ops["resource"] == "HT"]
    dur = (ht["t_end"] - ht["t_start"]).unique()
    assert len(dur) == 1 and dur[0] == pytest.approx(heat + 1800 + 300)
    # full loads of 10; the furnace is the bottleneck: batches back to back
    sizes = ht.groupby("t_start").size()
    assert (sizes == 10).all()
    assert run.stations["HT"].batches == pytest.approx(86400 / (heat + 2100), abs=1)
    # lumped estimate of the heating (Bi = 0.18 here, so conduction makes the core lag): FD time is longer
    tau = m.rho * m.cp * 0.025 / (2 * 150.0)
    assert heat > tau * math.log(840 / 10) * 0.95


def test_partial_batch_after_timeout():
    res = twin.simulate(scen(pt=1000.0, batch=10, wait="1 h"))
    ops = res.operations.to_pandas()
    sizes = ops[ops["resource"] == "HT"].groupby("t_start").size()
    # one part per 1000 s: the first batch starts 1 h after its first part (t = 1000 s) with the 4
    # parts that arrived by then; later batches collect what arrived during the previous cycle
    assert sizes.index[0] == pytest.approx(1000 + 3600) and sizes.iloc[0] == 4
    assert (sizes < 10).all()
    starts = list(sizes.index)
    assert starts[1] - starts[0] == pytest.approx(res_cycle(res) + 3600)


def res_cycle(res):
    ops = res.operations.to_pandas()
    ht = ops[ops["resource"] == "HT"]
    return float((ht["t_end"] - ht["t_start"]).iloc[0])


def test_tempering_parameter_window():
    P = 1133.15 * (20 + math.log10(0.5))
    ok = twin.simulate(scen(window=[P - 100, P + 100]))
    bad = twin.simulate(scen(window=[P + 100, P + 200]))
    assert ok.kpis["stations"]["HT"]["scrap_ratio"] == 0.0
    assert bad.kpis["stations"]["HT"]["scrap_ratio"] == 1.0
    assert bad.kpis["line"]["parts_completed"] == 0


def test_furnace_failures_stop_the_cycle_and_scrap_the_batch():
    """Calendar-time failures: the cycle in progress is stretched by the repair and its batch is
    scrapped (failure_scraps_batch); availability = MTBF / (MTBF + MTTR) when the furnace is
    the bottleneck and always busy."""
    d = scen(horizon=200 * 86400).dump()
    d["stations"]["HT"]["failures"] = [{"basis": "calendar", "tbf": {"dist": "exponential", "mean": "2 d"},
                                        "ttr": {"dist": "constant", "value": "4 h"}}]
    run = twin.Run(d)
    res = run.run()
    k = res.kpis["stations"]["HT"]
    n_fail = len(res.failures["t"])
    assert n_fail == pytest.approx(200 / (2 + 4 / 24), rel=0.2)
    assert k["availability"] == pytest.approx(48 / 52, abs=0.01)
    ops = res.operations.to_pandas()
    ht = ops[ops["resource"] == "HT"]
    per_batch = ht.groupby("t_start").agg(outcome=("outcome", "first"), t_end=("t_end", "first"))
    scrapped = per_batch[per_batch["outcome"] == "scrap"]
    # each failure that hit a running batch scrapped exactly that batch, whose cycle grew by 4 h
    assert 0 < len(scrapped) <= n_fail
    cyc = run.stations["HT"].cycle  # heating from the kernel + soak + quench
    assert ((scrapped["t_end"] - scrapped.index) >= cyc + 4 * 3600 - 1e-6).all()
    good = per_batch[per_batch["outcome"] == "good"]
    assert len(good) > 10 * len(scrapped)
    assert np.allclose(good["t_end"] - good.index, cyc)


def test_furnace_failures_on_the_cycles_basis_count_batches():
    """Failure profiles of every basis work on a furnace (it used to accept calendar only): on the
    cycles basis a constant TBF of 5 means a failure after every fifth batch."""
    d = scen(horizon=20 * 86400).dump()
    d["stations"]["HT"]["failures"] = [{"basis": "cycles", "tbf": {"dist": "constant", "value": 5},
                                        "ttr": {"dist": "constant", "value": "1 h"}}]
    run = twin.Run(d)
    res = run.run()
    batches = run.stations["HT"].batches
    assert batches > 20
    assert len(res.failures["t"]) in (batches // 5, batches // 5 - 1)
    # every failure starts when a batch ends (a batch is never interrupted by a cycles-basis failure)
    ends = set(res.operations.to_pandas().query("resource == 'HT'")["t_end"])
    assert all(t in ends for t in res.failures["t"])
