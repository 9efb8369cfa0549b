"""Physics views: stability lobe diagram with the programmed operating points, tool wear and
roughness over a run, and the temperature field of a part through heat treatment on its mesh.
All render off-screen to PNG with PyVista (2-D charts and 3-D meshes)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

import twin.kernels as K

from .scene import quiet_vtk

__all__ = ["plot_stability_lobes", "plot_tool_wear", "plot_part_temperature"]


def _shot(p, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        p.screenshot(str(path))
    finally:
        p.close()
    return path


def plot_stability_lobes(path, k: float, zeta: float, fn: float, Ks: float, points=(), teeth: int = 1, n_lobes: int = 6,
                         window_size=(1000, 600)) -> Path:
    """Critical depth [mm] against spindle speed [rpm] (``twin.kernels.stability_lobes``), the
    absolute limit, and operating points ``(rpm, depth_mm, label)`` in green (stable) or red."""
    import pyvista as pv

    quiet_vtk()
    S, B = K.stability_lobes(k, zeta, fn, Ks, 0.0, n_lobes, 400, teeth)
    p = pv.Plotter(off_screen=True, window_size=list(window_size))
    ch = pv.Chart2D(x_label="spindle speed [rpm]", y_label="critical depth of cut [mm]")
    bmin = K.b_lim_min(k, zeta, Ks) * 1e3
    xmax = float(np.nanmax(S)) * 60.0
    for N in range(n_lobes):
        ok = np.isfinite(S[N]) & np.isfinite(B[N])
        ch.line(S[N][ok] * 60.0, np.minimum(B[N][ok] * 1e3, 6 * bmin), color="navy", width=2.0)
    ch.line([0, xmax], [bmin, bmin], color="grey", style="--", label="b_lim,min")
    for rpm, depth, label in points:
        stable = K.is_stable(rpm / 60.0, depth * 1e-3, k, zeta, fn, Ks, 0.0, teeth)
        ch.scatter([rpm], [depth], color="green" if stable else "red", size=14, style="o", label=f"{label} ({'stable' if stable else 'chatter'})")
    ch.x_range = [0, xmax]
    ch.y_range = [0, 6 * bmin]
    ch.title = f"stability lobes: k {k:.3g} N/m, zeta {zeta:g}, fn {fn:g} Hz, Ks {Ks:.3g} Pa"
    p.add_chart(ch)
    return _shot(p, path)


def plot_tool_wear(result, station: str, path, window_size=(1000, 600)) -> Path:
    """Flank wear of the finishing tool and roughness Ra of each part over the run, from the
    station's physics record (tool replacements show as drops)."""
    import pyvista as pv

    quiet_vtk()
    table = result.extra_tables.get(f"physics_{station}")
    if table is None:
        raise KeyError(f"no physics record for station {station!r} (machining stations only)")
    t = table.column("t").to_numpy() / 3600.0
    vb = table.column("vb_finish_m").to_numpy() * 1e3
    ra = table.column("ra_m").to_numpy() * 1e6
    p = pv.Plotter(off_screen=True, window_size=list(window_size), shape=(2, 1))
    c1 = pv.Chart2D(x_label="time [h]", y_label="VB finishing tool [mm]")
    c1.line(t, vb, color="darkred", width=1.5)
    c1.title = f"{station}: tool wear"
    c2 = pv.Chart2D(x_label="time [h]", y_label="Ra [um]")
    c2.line(t, ra, color="navy", width=1.5)
    c2.title = f"{station}: roughness"
    p.subplot(0, 0)
    p.add_chart(c1)
    p.subplot(1, 0)
    p.add_chart(c2)
    return _shot(p, path)


def plot_part_temperature(path, radius: float, length: float, k: float, rho: float, cp: float, h: float, T0: float,
                          Tinf: float, times=(60.0, 300.0, 900.0), nx: int = 31, window_size=(1200, 500)) -> Path:
    """A cylindrical part heated by convection (``twin.kernels.fd_transient``): its mesh coloured
    by the radial temperature field [degC] at each of ``times`` (one copy of the part per time)."""
    import pyvista as pv

    quiet_vtk()
    t_end = max(times)
    n = 2000
    dt = t_end / n
    fields = []
    T = np.full(nx, T0)
    done = 0
    for t in sorted(times):
        steps = int(round(t / dt)) - done
        if steps > 0:
            amb = np.full(steps, Tinf)
            T, _, _ = K.fd_transient(K.heat.CYLINDER, radius, k, rho, cp, T, dt, steps, K.heat.INSULATED, amb, K.heat.CONVECTIVE, amb, h)
            done += steps
        fields.append(T.copy())
    r_nodes = np.linspace(0.0, radius, nx)
    p = pv.Plotter(off_screen=True, window_size=list(window_size))
    p.set_background("white")
    lo, hi = min(T0, Tinf) - 273.15, max(T0, Tinf) - 273.15
    for i, (t, field) in enumerate(zip(sorted(times), fields)):
        cyl = pv.CylinderStructured(radius=np.linspace(0.02 * radius, radius, 12), height=length, direction=(0, 0, 1), theta_resolution=40,
                                    z_resolution=8, center=(-i * 3.0 * radius, 0, 0))
        pts = cyl.points - np.array([-i * 3.0 * radius, 0, 0])
        rr = np.sqrt(pts[:, 0] ** 2 + pts[:, 1] ** 2)
        cyl.point_data["T [degC]"] = np.interp(rr, r_nodes, field) - 273.15
        p.add_mesh(cyl.clip("y", origin=(0, 0, 0)), scalars="T [degC]", cmap="inferno", clim=(lo, hi), lighting=False,
                   scalar_bar_args={"title": "T [degC]", "color": "black"})
        p.add_point_labels(np.array([[-i * 3.0 * radius, 0, length / 2 + radius * 0.6]]), [f"t = {t / 60:.0f} min"],
                           font_size=14, show_points=False, always_visible=True, shape_opacity=0.6)
    p.view_xz(negative=True)  # look at the cut face: the radial field from surface to core
    p.camera.zoom(1.2)
    return _shot(p, path)
