"""Physics kernels (numba, SI units): machining forces and times, tool life and wear, surface
and accuracy, chatter stability (one or several oriented modes, milling), heat treatment and the
semi-infinite solid, furnace loads, forming, welding, energy, sensor signals.

One module per topic; every kernel is an ``@njit(cache=True)`` function with its formula,
units, validity and source in the docstring. Batch variants run over arrays in parallel.
"""

import os as _os

if "NUMBA_THREADING_LAYER" not in _os.environ:  # OpenMP was seen adding ~8 ms per parallel call here
    import numba as _numba

    _numba.config.THREADING_LAYER = "workqueue"

from . import batch, chatter, energy, forming, furnace, heat, machining, materials, part, semi_infinite, signals, surface, tool_wear, vecmath, welding  # noqa: E402
from .batch import cuts_batch, cuts_scalar  # noqa: E402
from .chatter import (b_lim_min, chatter_frequency, chatter_frequency_grid, critical_depth, directional_factor, frf_multi_mode,  # noqa: E402
                      frf_single_mode, is_stable, lobe_envelope, lobe_speeds, milling_critical_depth,
                      milling_directional_coefficients, milling_immersion_angles, milling_is_stable, milling_lobes,
                      milling_zoa_eigenvalues, oriented_critical_depth, oriented_frf, oriented_is_stable, oriented_lobes,
                      stability_lobes)
from .energy import machining_energy, specific_cutting_energy, state_energy  # noqa: E402
from .furnace import core_heating_time, heat_flux_limit, load_heating_time  # noqa: E402
from .forming import bending_force, blanking_clearance, blanking_force, blanking_force_uts, press_tonnage_ok  # noqa: E402
from .heat import (BI_LUMPED_MAX, LumpedValidityError, LumpedValidityWarning, biot_number, check_lumped,  # noqa: E402
                   cylinder_eigenvalues, cylinder_fd_transient, cylinder_series, fd_transient, fourier_number, lumped_biot,
                   lumped_temperature, lumped_temperature_checked, lumped_time_constant, lumped_time_to_temperature,
                   lumped_time_to_temperature_checked, one_term_cylinder, one_term_energy_cylinder, one_term_energy_sphere,
                   one_term_energy_wall, one_term_sphere, one_term_wall, slab_fd_transient, sphere_eigenvalues,
                   sphere_fd_transient, sphere_series, thermal_diffusivity, thermal_effusivity, thermal_expansion,
                   time_to_core_temperature, wall_eigenvalues, wall_series)
from .machining import (bolt_circle_path, bore_deviation, boring_bar_deflection, cutting_power, drilling_force,  # noqa: E402
                        drilling_time, drilling_torque, facing_time, grooving_force, hole_pattern_time,
                        kienzle_specific_force, milling_force_mean, milling_mean_chip_thickness, milling_time, motor_power,
                        mrr_turning, peripheral_milling, spindle_speed, spindle_torque, thread_depth, thread_infeed,
                        threading_force, threading_time, turning_force, turning_time, turning_time_vc)
from .materials import MATERIALS, TAYLOR_TOOLS, get_material, get_tool, taylor_C_si  # noqa: E402
from .semi_infinite import (erfcinv, erfcx, erfinv, penetration_depth, semi_infinite_convection, semi_infinite_convection_flux,  # noqa: E402
                            semi_infinite_flux, semi_infinite_step, semi_infinite_step_energy, semi_infinite_step_flux)
from .signals import spindle_load_signal, temperature_trace, vibration_signal, vibration_windows  # noqa: E402
from .surface import RA_CONST_CUSP, RA_CONST_TEXTBOOK, dimensional_deviation, finish_quality, ra_theoretical, ra_with_wear, rz_theoretical  # noqa: E402
from .tool_wear import (VB_CRIT, cumulative_damage, economic_speed_max_production, economic_speed_min_cost,  # noqa: E402
                        flank_wear_vb, life_fraction, taylor_extended_life, taylor_from_two_points, taylor_life,
                        taylor_speed, time_to_vb)
from .welding import EN1011_PROCESS_FACTORS, arc_energy, arc_power, heat_input, power_balance, t85, t85_thick, t85_thin, unit_melting_energy  # noqa: E402

MODULES = [batch, chatter, energy, forming, furnace, heat, machining, materials, part, semi_infinite, signals, surface, tool_wear, vecmath, welding]
