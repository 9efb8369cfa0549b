"""Energy of machines and processes.

Machine energy from per-state power and durations ``E = sum(P_s t_s)`` (the state-based
model of Gutowski et al., "Electrical energy requirements for manufacturing processes", CIRP
LCE 2006; idle / ready / processing states). Specific cutting energy ``u = Pc / Q`` [J/m^3],
the energy to remove a unit volume (Groover Table 20.2 gives 1.6 J/mm^3 for carbon steel at
h = 0.25 mm).
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["state_energy", "specific_cutting_energy", "machining_energy"]


@njit(cache=True)
def state_energy(powers, durations):
    """Energy [J] = sum(P_i t_i); powers [W], durations [s] (arrays of the same length).

    >>> import numpy as np
    >>> state_energy(np.array([1200.0, 3000.0, 7650.0]), np.array([300.0, 120.0, 754.2]))
    6489630.0
    """
    if len(powers) != len(durations):
        raise ValueError("powers and durations must have the same length")
    e = 0.0
    for i in range(len(powers)):
        if powers[i] < 0.0 or durations[i] < 0.0:
            raise ValueError("powers and durations must be >= 0")
        e += powers[i] * durations[i]
    return e


@njit(cache=True)
def specific_cutting_energy(Pc, mrr):
    """Specific cutting energy u = Pc / Q [J/m^3]; Pc [W], Q [m^3/s].

    >>> specific_cutting_energy(3720.0, 1.2e-6) / 1e9
    3.1
    """
    if mrr <= 0.0:
        raise ValueError("material removal rate must be > 0")
    return Pc / mrr


@njit(cache=True)
def machining_energy(Pc, efficiency, cut_time, base_power, total_time):
    """Electrical energy of an operation [J]: cutting power through the drive efficiency during
    the cut plus the machine's base power over the whole cycle.

    >>> machining_energy(4000.0, 0.8, 60.0, 2000.0, 90.0)
    480000.0
    """
    if efficiency <= 0.0 or efficiency > 1.0:
        raise ValueError("efficiency must be in (0, 1]")
    if cut_time < 0.0 or total_time < cut_time:
        raise ValueError("need 0 <= cut_time <= total_time")
    return Pc / efficiency * cut_time + base_power * total_time
