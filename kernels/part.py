"""One machined part through a tool magazine, in one call: tool breakage, wear accumulation,
finishing quality and tool replacement. The machining stations of ``twin.processes`` call
:func:`machined_part` once per part (one dispatch instead of a few dozen Python lines).

Per part, with the magazine state of one machine unit (life fraction ``frac[k, j]`` and parts
``used[k, j]`` of tool j):

* Breakage (cuts with a breakage rate r [1/s of cutting with a new tool]): hazard
  ``r (1 + 9 x^2)`` over the tool's life fraction x (wear-dependent, tripling the rate at
  x = 0.33 and ten-fold at x = 1); the probability that the cut breaks the tool is
  ``1 - exp(-r T ((x1 - x0) + 3 (x1^3 - x0^3)))`` for a cut taking the fraction from x0 to x1
  of a tool of life T [s]; one uniform decides it, a second one where in the cut.
  (Phenomenological; the rising hazard follows the wear-dependence reported for carbide inserts,
  e.g. Kalpakjian & Schmid, Manufacturing Engineering and Technology, ch. 21.)
* Wear: each cut adds t_cut / T (Taylor life) to its tool's fraction (Miner's rule).
* Finishing quality from the finishing tool's fraction after the part:
  :func:`twin.kernels.surface.finish_quality` (VB curve, Ra with wear x chatter factor,
  diameter deviation from wear and thermal growth).
* Replacement after the part: a wear-policy tool when its fraction reaches 1 (VB = VB_crit), a
  count-policy tool after ``max_parts`` parts.

Cycle [s] = (nominal + replacements x tool_replace) / feed_override. Units SI. Validity: that of
the models composed (Taylor within its tested speeds, the VB curve up to ~1.2 T).
"""

from __future__ import annotations

import math

import numpy as np  # noqa: F401  (doctest)
from numba import njit

from .surface import finish_quality

__all__ = ["machined_part", "CUT_COLS", "FIN_COLS", "REC_COLS"]

#: columns of the ``cuts`` table: tool index, t_cut [s], Taylor life [s], breakage rate [1/s], start within the cycle [s]
CUT_COLS = ("tool", "t_cut", "life", "rate", "t_start")
#: entries of ``fin``: tool (-1: no finishing cut), life, vb_crit, ra0, k_vb, ra_factor, clearance [rad], diameter, alpha, dT
FIN_COLS = ("tool", "life", "vb_crit", "ra0", "k_vb", "ra_factor", "clearance", "diameter", "alpha", "dT")
#: row written to ``rec`` per part
REC_COLS = ("t", "part", "unit", "cycle_s", "cut_s", "ra_m", "dev_m", "vb_finish_m", "stable", "broken", "energy_J", "tool_changes")


@njit(cache=True)
def machined_part(frac, used, k, cuts, pol, fin, now, pid, nominal, t_repl, fo, cut_time, energy, stable, u, ui, rec, n):
    """Advance unit ``k``'s magazine by one part; write record row ``n``; return
    (next uniform index, breakage time within the cycle [s] or -1, Ra [m], deviation [m], cycle [s],
    tool replacements).

    frac [units, tools] life fractions, used [units, tools] parts per tool (int64), cuts
    [n_cuts, 5] (:data:`CUT_COLS`), pol [n_tools_used, 3] (tool, 1 = wear policy, max_parts),
    fin [10] (:data:`FIN_COLS`), now [s], part id, nominal cycle [s], tool_replace [s],
    feed_override [-], cutting time [s], energy [J], stable 0/1, u uniforms with at least
    2 x n_cuts left from ui, rec [rows, 12] (:data:`REC_COLS`).

    >>> frac, used = np.zeros((1, 1)), np.zeros((1, 1), np.int64)
    >>> cuts = np.array([[0.0, 60.0, 600.0, 0.0, 10.0]])
    >>> fin = np.array([0.0, 600.0, 3e-4, 1e-6, 1.0, 1.0, 0.12, 0.05, 12e-6, 0.0])
    >>> rec = np.zeros((4, 12))
    >>> out = machined_part(frac, used, 0, cuts, np.array([[0.0, 1.0, 0.0]]), fin,
    ...                     0.0, 7.0, 100.0, 90.0, 1.0, 60.0, 5e4, 1.0, np.full(4, 0.5), 0, rec, 0)
    >>> round(float(frac[0, 0]), 3), out[1], round(out[4], 1)   # a tenth of the life used, no breakage
    (0.1, -1.0, 100.0)
    """
    broken_at = -1.0
    nc = cuts.shape[0]
    for c in range(nc):
        rate = cuts[c, 3]
        if rate > 0.0:
            j = int(cuts[c, 0])
            life = cuts[c, 2]
            x0 = frac[k, j]
            x1 = x0 + cuts[c, 1] / life
            p = -math.expm1(-rate * life * ((x1 - x0) + 3.0 * (x1 ** 3 - x0 ** 3)))
            v = u[ui]
            ui += 1
            if v < p:
                broken_at = cuts[c, 4] + cuts[c, 1] * u[ui]
                ui += 1
                break
    for c in range(nc):
        j = int(cuts[c, 0])
        frac[k, j] += cuts[c, 1] / cuts[c, 2]
    vb = ra = dev = 0.0
    jf = int(fin[0])
    if jf >= 0:
        vb, ra, dev = finish_quality(frac[k, jf] * fin[1], fin[1], fin[2], fin[3], fin[4], fin[5], fin[6], fin[7], fin[8], fin[9])
    changes = 0
    for r in range(pol.shape[0]):
        j = int(pol[r, 0])
        used[k, j] += 1
        if (frac[k, j] >= 1.0 - 1e-12) if pol[r, 1] > 0.0 else (used[k, j] >= pol[r, 2]):
            frac[k, j] = 0.0
            used[k, j] = 0
            changes += 1
    d = (nominal + changes * t_repl) / fo
    rec[n, 0] = now
    rec[n, 1] = pid
    rec[n, 2] = k
    rec[n, 3] = d
    rec[n, 4] = cut_time
    rec[n, 5] = ra
    rec[n, 6] = dev
    rec[n, 7] = vb
    rec[n, 8] = stable
    rec[n, 9] = 1.0 if broken_at >= 0.0 else 0.0
    rec[n, 10] = energy
    rec[n, 11] = changes
    return ui, broken_at, ra, dev, d, changes
