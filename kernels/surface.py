"""Surface finish and dimensional accuracy of turned parts.

Theoretical (kinematic) roughness of a nose radius r at feed f (Groover eq. 21.x;
Whitehouse): peak-to-valley ``Rz = f**2 / (8 r)``; arithmetic mean roughness with two constants
in use: the textbook approximation ``Ra = f**2 / (32 r)`` (RA_CONST_TEXTBOOK = 1/32 = 0.03125)
and the exact parabolic-cusp value ``Ra = f**2 / (18 sqrt(3) r)`` (RA_CONST_CUSP = 0.03208).
They differ by 2.6 %. Real surfaces are rougher: Groover's ratio r_ai (1.25-3, higher for
ductile materials) multiplies the ideal value. Validity: f < 2 r sin of the edge angles (the cut
stays on the nose radius), no built-up edge.
Wear: roughness grows with flank wear, modelled here as Ra = Ra0 (1 + k_vb VB / VB_crit)
(linear fit of the trend reported by e.g. Oezel & Karpat 2005; k_vb = 1 means Ra doubles at the
wear criterion). Dimensional deviation of a turned diameter: radial tool wear (VB tan of the
clearance angle) doubled on the diameter, plus thermal growth alpha * D * dT.
"""

from __future__ import annotations

import math

from numba import njit

from .tool_wear import flank_wear_vb

__all__ = ["rz_theoretical", "ra_theoretical", "ra_with_wear", "dimensional_deviation", "finish_quality", "RA_CONST_TEXTBOOK", "RA_CONST_CUSP"]

RA_CONST_TEXTBOOK = 1.0 / 32.0
RA_CONST_CUSP = 1.0 / (18.0 * math.sqrt(3.0))


@njit(cache=True)
def rz_theoretical(f, r):
    """Kinematic peak-to-valley roughness Rz = f^2 / (8 r) [m]; f feed [m/rev], r nose radius [m].

    >>> round(rz_theoretical(2.5e-4, 1.2e-3) * 1e6, 4)
    6.5104
    """
    if f <= 0.0:
        raise ValueError("feed f must be > 0")
    if r <= 0.0:
        raise ValueError("nose radius r must be > 0")
    return f * f / (8.0 * r)


@njit(cache=True)
def ra_theoretical(f, r, const=RA_CONST_TEXTBOOK):
    """Theoretical Ra = const * f^2 / r [m]; const = RA_CONST_TEXTBOOK (1/32) or RA_CONST_CUSP (1/(18 sqrt 3)).

    >>> round(ra_theoretical(2.5e-4, 1.2e-3) * 1e6, 4)
    1.6276
    """
    if f <= 0.0:
        raise ValueError("feed f must be > 0")
    if r <= 0.0:
        raise ValueError("nose radius r must be > 0")
    return const * f * f / r


@njit(cache=True)
def ra_with_wear(ra0, vb, vb_crit=0.3e-3, k_vb=1.0):
    """Roughness of a worn tool: Ra = ra0 (1 + k_vb vb / vb_crit) [m].

    >>> round(ra_with_wear(1.6e-6, 0.3e-3) * 1e6, 3)
    3.2
    """
    if ra0 < 0.0 or vb < 0.0:
        raise ValueError("ra0 and vb must be >= 0")
    return ra0 * (1.0 + k_vb * vb / vb_crit)


@njit(cache=True)
def dimensional_deviation(vb, clearance_angle, diameter, alpha, dT):
    """Diameter deviation [m] of a turned part: + 2 VB tan(clearance) (the worn tool cuts less
    deep, the diameter grows) + alpha D dT (thermal growth of the part at measurement).

    >>> round(dimensional_deviation(0.2e-3, math.radians(7), 0.04, 12e-6, 10.0) * 1e6, 3)
    53.914
    """
    if vb < 0.0 or diameter <= 0.0:
        raise ValueError("vb must be >= 0 and diameter > 0")
    return 2.0 * vb * math.tan(clearance_angle) + alpha * diameter * dT


@njit(cache=True)
def finish_quality(t, T_life, vb_crit, ra0, k_vb, ra_factor, clearance_angle, diameter, alpha, dT):
    """Quality of a finishing cut in one call: (VB [m], Ra [m], diameter deviation [m]).

    VB = :func:`twin.kernels.tool_wear.flank_wear_vb` (t [s] of cutting on a tool of Taylor life
    T_life [s], criterion vb_crit [m]); Ra = ``ra_factor`` x :func:`ra_with_wear` (ra0 [m],
    k_vb [-]; ra_factor e.g. 3 for a chattering cut, 1 otherwise); deviation =
    :func:`dimensional_deviation` (clearance angle [rad], diameter [m], alpha [1/K], dT [K]),
    0 when diameter is 0 (not a turned diameter). Validity and sources: those of the three
    models (flank-wear curve calibrated to the Taylor life; Groover ch. 24 for Ra; geometric
    wear offset + linear thermal expansion). The process models call this once per part.

    >>> vb, ra, dev = finish_quality(900.0, 900.0, 0.3e-3, 1.6e-6, 1.0, 1.0, math.radians(7), 0.04, 12e-6, 10.0)
    >>> round(vb * 1e3, 6), round(ra * 1e6, 3), round(dev * 1e6, 3)
    (0.3, 3.2, 78.471)
    """
    from_wear = flank_wear_vb(t, T_life, vb_crit)
    ra = ra_factor * ra_with_wear(ra0, from_wear, vb_crit, k_vb)
    dev = dimensional_deviation(from_wear, clearance_angle, diameter, alpha, dT) if diameter > 0.0 else 0.0
    return from_wear, ra, dev

