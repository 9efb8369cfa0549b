"""Vectorisable elementary functions for the hot batch kernels.

Numba compiles ``math.exp`` and ``math.log`` to calls into the C library, which LLVM cannot
vectorise (PyPI's llvmlite has no SVML). The functions here are the same algorithms written
in plain arithmetic and integer bit operations, so a loop that calls them vectorises (AVX2 /
AVX-512 on the benchmark machine) and a batch kernel runs several cuts per instruction.

* :func:`exp_v`: fdlibm ``e_exp.c`` (Sun Microsystems 1993; as in musl libc): argument
  reduction ``x = k ln2 + r`` with a two-part ln2, rational approximation
  ``exp(r) = 1 + r + r c / (2 - c)``, scaling by ``2**k`` through the exponent bits. ``k`` is
  rounded by adding ``1.5 * 2**52`` (round-half-even instead of fdlibm's round-half-up: the
  two differ only at exact ties, where both reductions are exact).
  Error < 1 ulp for ``-708 < x < 709`` (the range where the result is a normal number).
* :func:`sincos_cycles`: ``(sin 2 pi c, cos 2 pi c)`` for a phase ``c`` in cycles: exact
  reduction ``c = n + q/4 + y`` (``|y| <= 1/8``), fdlibm ``k_sin.c`` / ``k_cos.c`` minimax
  polynomials on ``theta = 2 pi y`` (``|theta| <= pi/4``) and the quadrant ``q`` by selects.
  Within 2 ulp of the exact ``sin(2 pi c)`` and ``cos(2 pi c)`` for ``|c| < 2**50`` (the
  rounding of ``theta`` plus < 1 ulp of the kernels). It never forms the large angle
  ``2 pi c``, so a phase of a million cycles is as accurate as one of a tenth of a cycle
  (``math.sin(2 * math.pi * c)`` loses about ``log10(c)`` digits there).
* :func:`log_v`: fdlibm ``e_log.c``: ``x = 2**k (1 + f)`` with ``1 + f`` in
  ``[sqrt(2)/2, sqrt(2))``, ``log(1 + f) = f - f^2/2 + s (f^2/2 + R(s^2))``, ``s = f / (2 + f)``.
  Error < 1 ulp for positive normal x (about ``2.2e-308 <= x < inf``).

Outside these ranges the results are meaningless (no special cases for 0, negatives, inf,
nan or subnormals); callers validate their inputs first, as every kernel does. The scalar
twin of a batch kernel calls the same functions, so both give bit-identical results.

AVX2 has no packed float64 <-> int64 conversion and no 64-bit arithmetic right shift; where
fdlibm uses them the code here uses the ``1.5 * 2**52`` shift trick and masked logical shifts,
so LLVM keeps every lane in vector registers (about 2x faster ``exp_v`` on AVX2 than with
``int(k)``).
"""

from __future__ import annotations

import math

from numba import njit, types
from numba.extending import intrinsic

__all__ = ["exp_v", "log_v", "pow_v", "sincos_cycles", "int_to_float"]


@intrinsic
def _f2i(typingctx, x):
    """Bit pattern of a float64 as an int64 (no conversion)."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.int64))

    return sig, codegen


@intrinsic
def _i2f(typingctx, x):
    """float64 with the given int64 bit pattern."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(types.float64))

    return sig, codegen


_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e+00
_SHIFT = 6755399441055744.0  # 1.5 * 2**52: adding it rounds |v| < 2**51 to an integer in the low bits
_SHIFT_BITS = 0x4338000000000000  # its bit pattern
_P1 = 1.66666666666666019037e-01
_P2 = -2.77777777770155933842e-03
_P3 = 6.61375632143793436117e-05
_P4 = -1.65339022054652515390e-06
_P5 = 4.13813679705723846039e-08

_LG1 = 6.666666666666735130e-01
_LG2 = 3.999999999940941908e-01
_LG3 = 2.857142874366239149e-01
_LG4 = 2.222219843214978396e-01
_LG5 = 1.818357216161805012e-01
_LG6 = 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01


@njit(cache=True, inline="always", error_model="numpy")
def int_to_float(k):
    """float(k) for an integer |k| < 2**51, without the int64 -> float64 conversion that AVX2
    lacks (so a loop using it stays vectorised).

    >>> int_to_float(-12345) == -12345.0
    True
    """
    return _i2f(k + _SHIFT_BITS) - _SHIFT


@njit(cache=True, inline="always", error_model="numpy")
def exp_v(x):
    """exp(x) for -708 < x < 709, < 1 ulp, vectorisable (fdlibm e_exp.c).

    >>> abs(exp_v(1.0) - math.exp(1.0)) <= math.ulp(math.e)
    True
    """
    # k = round(x / ln2) by the 1.5 * 2**52 shift: kd holds k in its low mantissa bits, so
    # neither k nor 2**k needs a float <-> int64 conversion (AVX2 has no packed one)
    kd = x * _INV_LN2 + _SHIFT
    kf = kd - _SHIFT
    hi = x - kf * _LN2_HI
    lo = kf * _LN2_LO
    r = hi - lo
    rr = r * r
    c = r - rr * (_P1 + rr * (_P2 + rr * (_P3 + rr * (_P4 + rr * _P5))))
    y = 1.0 + (r * c / (2.0 - c) - lo + hi)
    # y in [0.7, 1.42] and k in [-1021, 1023] over the valid range: 2**k is a normal number
    return y * _i2f((_f2i(kd) - _SHIFT_BITS + 1023) << 52)


@njit(cache=True, inline="always", error_model="numpy")
def log_v(x):
    """Natural log for positive normal x, < 1 ulp, vectorisable (fdlibm e_log.c).

    >>> log_v(10.0) == math.log(10.0)
    True
    """
    ix = _f2i(x)
    # (masked: a logical shift, which AVX2 has for 64-bit lanes; x > 0 so nothing is lost)
    hx = ((ix >> 32) & 0xFFFFFFFF) + (0x3FF00000 - 0x3FE6A09E)
    k = (hx >> 20) - 0x3FF
    hx = (hx & 0x000FFFFF) + 0x3FE6A09E
    m = _i2f((hx << 32) | (ix & 0xFFFFFFFF))
    f = m - 1.0
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    dk = int_to_float(k)
    return s * (hfsq + t1 + t2) + dk * _LN2_LO - hfsq + f + dk * _LN2_HI


@njit(cache=True, inline="always", error_model="numpy")
def pow_v(x, y):
    """x**y = exp(y log x) for x > 0 (vectorisable; relative error ~ |y log x| ulp).

    >>> abs(pow_v(2.0, 0.5) / math.sqrt(2.0) - 1.0) < 1e-15
    True
    """
    return exp_v(y * log_v(x))


_S1 = -1.66666666666666324348e-01
_S2 = 8.33333333332248946124e-03
_S3 = -1.98412698298579493134e-04
_S4 = 2.75573137070700676789e-06
_S5 = -2.50507602534068634195e-08
_S6 = 1.58969099521155010221e-10
_C1 = 4.16666666666666019037e-02
_C2 = -1.38888888888741095749e-03
_C3 = 2.48015872894767294178e-05
_C4 = -2.75573143513906633035e-07
_C5 = 2.08757232129817482790e-09
_C6 = -1.13596475577881948265e-11
_TWO_PI = 6.283185307179586


@njit(cache=True, inline="always", error_model="numpy")
def sincos_cycles(c):
    """(sin(2 pi c), cos(2 pi c)) for a phase c [cycles], |c| < 2**50, vectorisable.

    >>> s, co = sincos_cycles(1e6 + 0.125)
    >>> abs(s - math.sqrt(0.5)) < 1e-15 and abs(co - math.sqrt(0.5)) < 1e-15
    True
    """
    r = c - ((c + _SHIFT) - _SHIFT)  # c minus the nearest integer: exact, in [-1/2, 1/2]
    qd = 4.0 * r + _SHIFT
    q = (_f2i(qd) - _SHIFT_BITS) & 3  # quarter turns, mod 4
    y = r - 0.25 * (qd - _SHIFT)  # exact, |y| <= 1/8
    x = _TWO_PI * y
    z = x * x
    sn = x + z * x * (_S1 + z * (_S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))))
    hz = 0.5 * z
    w = 1.0 - hz
    cs = w + (((1.0 - w) - hz) + z * z * (_C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * _C6))))))
    # sin(x + q pi/2), cos(x + q pi/2) for q = 0, 1, 2, 3: (s, c), (c, -s), (-s, -c), (-c, s)
    odd = (q & 1) == 1
    s_out = cs if odd else sn
    c_out = sn if odd else cs
    s_out = -s_out if q >= 2 else s_out
    c_out = -c_out if (q == 1) | (q == 2) else c_out
    return s_out, c_out
