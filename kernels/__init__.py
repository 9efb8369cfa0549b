"""Physics kernels (numba, SI units): machining forces and times, tool life and wear, surface
and accuracy, chatter stability (one or several oriented modes, milling), heat treatment and the
semi-infinite solid, furnace loads, forming, welding, energy, sensor signals.

One module per topic; every kernel is an ``@njit(cache=True)`` function with its formula,
units, validity and source in the docstring. Batch variants run over arrays in parallel.

Importing this package costs nothing: the submodules (and numba with them) load on first use of
a name, so a line without physics (or ``twin --help``) never pays numba's import (~0.4 s with
the scipy it pulls in). ``twin.kernels.X`` and ``from twin.kernels import X`` work as before.
"""

import importlib as _importlib
import os as _os
import sys as _sys

if "NUMBA_THREADING_LAYER" not in _os.environ:  # OpenMP was seen adding ~8 ms per parallel call here
    if "numba" in _sys.modules:
        _sys.modules["numba"].config.THREADING_LAYER = "workqueue"
    else:  # numba reads it when it is imported (by the first kernel module used)
        _os.environ["NUMBA_THREADING_LAYER"] = "workqueue"

#: the kernel modules, one per topic
SUBMODULES = ("batch", "chatter", "energy", "forming", "furnace", "heat", "machining", "materials", "part",
              "semi_infinite", "signals", "surface", "tool_wear", "vecmath", "welding")
#: names re-exported at package level -> the module that defines them
_EXPORTS = {
    "batch": ("cuts_batch", "cuts_scalar"),
    "chatter": ("b_lim_min", "chatter_frequency", "chatter_frequency_grid", "critical_depth",
        "directional_factor", "frf_multi_mode", "frf_single_mode", "is_stable", "lobe_envelope",
        "lobe_speeds", "milling_critical_depth", "milling_directional_coefficients",
        "milling_immersion_angles", "milling_is_stable", "milling_lobes", "milling_zoa_eigenvalues",
        "oriented_critical_depth", "oriented_frf", "oriented_is_stable", "oriented_lobes", "stability_lobes"),
    "energy": ("machining_energy", "specific_cutting_energy", "state_energy"),
    "furnace": ("core_heating_time", "heat_flux_limit", "load_heating_time"),
    "forming": ("bending_force", "blanking_clearance", "blanking_force", "blanking_force_uts",
        "press_tonnage_ok"),
    "heat": ("BI_LUMPED_MAX", "LumpedValidityError", "LumpedValidityWarning", "biot_number", "check_lumped",
        "cylinder_eigenvalues", "cylinder_fd_transient", "cylinder_series", "fd_transient", "fourier_number",
        "lumped_biot", "lumped_temperature", "lumped_temperature_checked", "lumped_time_constant",
        "lumped_time_to_temperature", "lumped_time_to_temperature_checked", "one_term_cylinder",
        "one_term_energy_cylinder", "one_term_energy_sphere", "one_term_energy_wall", "one_term_sphere",
        "one_term_wall", "slab_fd_transient", "sphere_eigenvalues", "sphere_fd_transient", "sphere_series",
        "thermal_diffusivity", "thermal_effusivity", "thermal_expansion", "time_to_core_temperature",
        "wall_eigenvalues", "wall_series"),
    "machining": ("bolt_circle_path", "bore_deviation", "boring_bar_deflection", "cutting_power",
        "drilling_force", "drilling_time", "drilling_torque", "facing_time", "grooving_force",
        "hole_pattern_time", "kienzle_specific_force", "milling_force_mean", "milling_mean_chip_thickness",
        "milling_time", "motor_power", "mrr_turning", "peripheral_milling", "spindle_speed",
        "spindle_torque", "thread_depth", "thread_infeed", "threading_force", "threading_time",
        "turning_force", "turning_time", "turning_time_vc"),
    "materials": ("MATERIALS", "TAYLOR_TOOLS", "get_material", "get_tool", "taylor_C_si"),
    "semi_infinite": ("erfcinv", "erfcx", "erfinv", "penetration_depth", "semi_infinite_convection",
        "semi_infinite_convection_flux", "semi_infinite_flux", "semi_infinite_step",
        "semi_infinite_step_energy", "semi_infinite_step_flux"),
    "signals": ("spindle_load_signal", "temperature_trace", "vibration_signal", "vibration_windows"),
    "surface": ("RA_CONST_CUSP", "RA_CONST_TEXTBOOK", "dimensional_deviation", "finish_quality",
        "ra_theoretical", "ra_with_wear", "rz_theoretical"),
    "tool_wear": ("VB_CRIT", "cumulative_damage", "economic_speed_max_production", "economic_speed_min_cost",
        "flank_wear_vb", "life_fraction", "taylor_extended_life", "taylor_from_two_points", "taylor_life",
        "taylor_speed", "time_to_vb"),
    "welding": ("EN1011_PROCESS_FACTORS", "arc_energy", "arc_power", "heat_input", "power_balance", "t85",
        "t85_thick", "t85_thin", "unit_melting_energy"),
}
_WHERE = {name: mod for mod, names in _EXPORTS.items() for name in names}
__all__ = [*SUBMODULES, *_WHERE, "MODULES"]


def __getattr__(name: str):
    if name in SUBMODULES:
        return _importlib.import_module(f"{__name__}.{name}")
    if name in _WHERE:
        value = getattr(_importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
        globals()[name] = value  # (the next lookup is a plain attribute)
        return value
    if name == "MODULES":
        return [_importlib.import_module(f"{__name__}.{m}") for m in SUBMODULES]
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
