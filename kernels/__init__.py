"""Physics kernels (numba, SI units): machining forces and times, tool life and wear, surface
and accuracy, chatter stability, heat treatment, forming, welding, energy, sensor signals.

One module per topic; every kernel is an ``@njit(cache=True)`` function with its formula,
units, validity and source in the docstring. Batch variants run over arrays in parallel.
"""

import os as _os

if "NUMBA_THREADING_LAYER" not in _os.environ:  # OpenMP was seen adding ~8 ms per parallel call here
    import numba as _numba

    _numba.config.THREADING_LAYER = "workqueue"

from . import batch, chatter, energy, forming, heat, machining, materials, part, signals, surface, tool_wear, vecmath, welding  # noqa: E402
from .batch import cuts_batch, cuts_scalar  # noqa: E402
from .chatter import b_lim_min, chatter_frequency, critical_depth, frf_multi_mode, frf_single_mode, is_stable, lobe_speeds, stability_lobes  # noqa: E402
from .energy import machining_energy, specific_cutting_energy, state_energy  # noqa: E402
from .forming import bending_force, blanking_clearance, blanking_force, blanking_force_uts, press_tonnage_ok  # noqa: E402
from .heat import (biot_number, cylinder_fd_transient, fd_transient, lumped_temperature, lumped_time_to_temperature,  # noqa: E402
                   one_term_cylinder, one_term_wall, slab_fd_transient, thermal_expansion, time_to_core_temperature, wall_series)
from .machining import (cutting_power, drilling_force, drilling_time, drilling_torque, kienzle_specific_force,  # noqa: E402
                        milling_force_mean, milling_mean_chip_thickness, milling_time, motor_power, mrr_turning,
                        peripheral_milling, spindle_speed, spindle_torque, turning_force, turning_time, turning_time_vc)
from .materials import MATERIALS, TAYLOR_TOOLS, get_material, get_tool, taylor_C_si  # noqa: E402
from .signals import spindle_load_signal, temperature_trace, vibration_signal, vibration_windows  # noqa: E402
from .surface import RA_CONST_CUSP, RA_CONST_TEXTBOOK, dimensional_deviation, finish_quality, ra_theoretical, ra_with_wear, rz_theoretical  # noqa: E402
from .tool_wear import (VB_CRIT, cumulative_damage, economic_speed_max_production, economic_speed_min_cost,  # noqa: E402
                        flank_wear_vb, life_fraction, taylor_extended_life, taylor_from_two_points, taylor_life,
                        taylor_speed, time_to_vb)
from .welding import EN1011_PROCESS_FACTORS, arc_energy, arc_power, heat_input, power_balance, t85, t85_thick, t85_thin, unit_melting_energy  # noqa: E402

MODULES = [batch, chatter, energy, forming, heat, machining, materials, part, signals, surface, tool_wear, vecmath, welding]
