"""One pass over a state log for the KPIs of a compiled-engine run (numba, ``cache=True``).

:func:`state_pass` gives what ``twin.kpi.state_durations`` and ``twin.kpi.active_periods`` give
(time per resource and state code inside the window [t0, t1]; the durations of each resource's
maximal active periods, in time order, positive ones only) with the same floating-point
operations in the same order, so the KPIs are bit-identical (tested). Rows of one resource are in
time order in the log, so one pass that remembers each resource's last row replaces the sort by
resource: the duration of a row is ``max(min(t_next, t1), t0) - min(max(t, t0), t1)`` with
``t_next`` the resource's next row (t1 after its last).

Used for results of the compiled engine, where numba is already running; the SimPy engine's
results take the numpy path (it would otherwise pay numba's start-up for a few tens of ms).

>>> import numpy as np
>>> act = np.array([True, True, False, False, False, True, True, False, False])
>>> dur, pres, psum = state_pass(np.array([0.0, 2.0, 5.0]), np.array([0, 0, 0], np.int32),
...                              np.array([2, 0, 2], np.int8), 1, 0.0, 10.0, act, 9)
>>> dur[0, 0], dur[0, 2], list(psum)
(3.0, 7.0, [3.0])
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def state_pass(t, res, code, n_res, t0, t1, active, n_codes):
    """(durations [n_res, n_codes] in s, period resource ids, period durations [s])."""
    dur = np.zeros((n_res, n_codes))
    last_t = np.zeros(n_res)
    last_c = np.full(n_res, -1, np.int64)
    run_open = np.zeros(n_res, np.bool_)
    run_sum = np.zeros(n_res)
    n = len(t)
    p_res = np.empty(n + n_res, np.int64)
    p_sum = np.empty(n + n_res)
    k = 0
    for i in range(n):
        r = res[i]
        c = code[i]
        ti = t[i]
        lc = last_c[r]
        if lc >= 0:
            hi = min(ti, t1)
            hi = max(hi, t0)
            lo = min(max(last_t[r], t0), t1)
            d = hi - lo
            dur[r, lc] += d
            if active[lc]:
                run_sum[r] += d
        if active[c]:
            if not run_open[r]:
                run_open[r] = True
                run_sum[r] = 0.0
        elif run_open[r]:
            if run_sum[r] > 0:
                p_res[k] = r
                p_sum[k] = run_sum[r]
                k += 1
            run_open[r] = False
        last_t[r] = ti
        last_c[r] = c
    for r in range(n_res):
        lc = last_c[r]
        if lc < 0:
            continue
        hi = max(min(t1, t1), t0)
        lo = min(max(last_t[r], t0), t1)
        d = hi - lo
        dur[r, lc] += d
        if active[lc]:
            run_sum[r] += d
        if run_open[r] and run_sum[r] > 0:
            p_res[k] = r
            p_sum[k] = run_sum[r]
            k += 1
    return dur, p_res[:k], p_sum[:k]
