"""Physical properties (hypothesis), numerical convergence, scalar/batch agreement, thread
independence, input errors and the docstring examples."""

import doctest
import math

import numba
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import twin.kernels as K
from twin.kernels import heat

pos = lambda lo, hi: st.floats(lo, hi, allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(f=pos(5e-5, 1e-3), ap=pos(2e-4, 1e-2), kr=pos(0.3, 1.57), kc=pos(5e8, 3e9), mc=pos(0.1, 0.35), g=pos(1.01, 2.0))
def test_force_rises_with_feed_and_depth(f, ap, kr, kc, mc, g):
    base = K.turning_force(f, ap, kr, kc, mc)
    assert K.turning_force(f * g, ap, kr, kc, mc) > base
    assert K.turning_force(f, ap * g, kr, kc, mc) == pytest.approx(base * g, rel=1e-12)  # linear in depth
    # power law: doubling the feed multiplies the force by 2**(1 - mc)
    assert K.turning_force(2 * f, ap, kr, kc, mc) / base == pytest.approx(2 ** (1 - mc), rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(v=pos(0.1, 10.0), n=pos(0.1, 0.7), C=pos(1.0, 100.0), g=pos(1.01, 3.0))
def test_tool_life_falls_with_speed(v, n, C, g):
    assert K.taylor_life(v * g, n, C) < K.taylor_life(v, n, C)
    T = K.taylor_life(v, n, C)
    assert K.taylor_speed(T, n, C) == pytest.approx(v, rel=1e-10)


@settings(max_examples=60, deadline=None)
@given(k=pos(1e7, 1e9), zeta=pos(0.005, 0.1), fn=pos(100.0, 2000.0), Ks=pos(5e8, 3e9), frac=pos(0.0, 0.999),
       speed=pos(5.0, 500.0))
def test_below_absolute_limit_stable_at_every_speed(k, zeta, fn, Ks, frac, speed):
    b = K.b_lim_min(k, zeta, Ks) * frac
    assert K.is_stable(speed, b, k, zeta, fn, Ks)


def test_lobes_unstable_between_and_stable_at_bottom_speeds():
    k, z, fn, Ks = 2.26e8, 0.012, 250.0, 1e9
    bmin = K.b_lim_min(k, z, Ks)
    speeds, _ = K.lobe_speeds(fn, z, 4)
    # just above the absolute limit: unstable at the lobe bottom, stable near the lobe's top speed
    assert not K.is_stable(speeds[1], bmin * 1.05, k, z, fn, Ks)
    assert K.critical_depth(speeds[1], k, z, fn, Ks) == pytest.approx(bmin, rel=2e-3)
    between = 0.5 * (speeds[1] + speeds[0])
    assert K.critical_depth(between, k, z, fn, Ks) > 3 * bmin


@pytest.mark.parametrize("geometry,Bi", [(heat.SLAB, 0.5), (heat.SLAB, 5.0), (heat.CYLINDER, 1.0)])
def test_fd_converges_to_one_term_series(geometry, Bi):
    L, k, rho, cp = 0.05, 40.0, 7800.0, 500.0
    h = Bi * k / L
    alpha = k / (rho * cp)
    Fo = 0.6 if geometry == heat.SLAB else 1.5
    t = Fo * L * L / alpha
    if geometry == heat.SLAB:  # the full series is exact; the one-term solution is close at Fo > 0.2
        exact = heat.wall_series(0.0, Fo, Bi, 40)
        assert heat.one_term_wall(0.0, Fo, Bi) == pytest.approx(exact, abs=2e-3)
    else:  # at Fo = 1.5 the higher cylinder terms are below 1e-9
        exact = heat.one_term_cylinder(0.0, Fo, Bi)
    errs = []
    for nx, steps in ((11, 100), (21, 400), (41, 1600)):
        T, core, _ = heat.fd_transient(geometry, L, k, rho, cp, np.full(nx, 1.0), t / steps, steps, heat.INSULATED,
                                       np.zeros(steps), heat.CONVECTIVE, np.zeros(steps), h)
        errs.append(abs(core[-1] - exact))
    assert errs[2] < errs[1] < errs[0]
    assert errs[2] < 1e-3


@settings(max_examples=25, deadline=None)
@given(Bi=pos(0.005, 0.09), Fo=pos(0.1, 5.0))
def test_fd_matches_lumped_when_biot_small(Bi, Fo):
    L, k, rho, cp = 0.02, 50.0, 7800.0, 450.0
    h = Bi * k / L
    t = Fo * L * L * rho * cp / k
    nx, n = 21, 400
    T, core, surf = heat.fd_transient(heat.SLAB, L, k, rho, cp, np.full(nx, 300.0), t / n, n, heat.INSULATED, np.zeros(n),
                                      heat.CONVECTIVE, np.full(n, 1100.0), h)
    _, vol, _ = heat._volumes(heat.SLAB, L, nx)
    mean = (vol * T).sum() / vol.sum()  # the lumped model describes the mean temperature
    lumped = K.lumped_temperature(t, 300.0, 1100.0, h, rho, cp, L, 1.0)
    assert mean == pytest.approx(lumped, abs=0.15 * Bi * 800 + 0.05)
    assert surf[-1] >= core[-1]


def test_fd_conserves_energy_when_insulated():
    nx, L, rho, cp = 51, 0.1, 7800.0, 450.0
    T0 = np.where(np.arange(nx) < nx // 2, 400.0, 300.0)
    z = np.zeros(200)
    for geometry in (heat.SLAB, heat.CYLINDER):
        T, _, _ = heat.fd_transient(geometry, L, 30.0, rho, cp, T0, 1.0, 200, heat.INSULATED, z, heat.INSULATED, z, 0.0)
        _, vol, _ = heat._volumes(geometry, L, nx)
        assert (vol * T).sum() == pytest.approx((vol * T0).sum(), rel=1e-12)
        assert T.max() < 400 and T.min() > 300


def test_flank_wear_reaches_criterion_at_taylor_life():
    T = K.taylor_life(3.0, 0.25, K.taylor_C_si(500, 0.25))
    ts = np.linspace(0, T, 500)
    vb = np.array([K.flank_wear_vb(t, T) for t in ts])
    assert vb[-1] == pytest.approx(K.VB_CRIT, rel=1e-12)
    assert np.all(np.diff(vb) > 0)
    for v in (0.02e-3, 0.1e-3, 0.25e-3, 0.3e-3):
        assert K.flank_wear_vb(K.time_to_vb(v, T), T) == pytest.approx(v, rel=1e-9)


def test_cumulative_damage_equals_one_at_end_of_life():
    n, C = 0.25, K.taylor_C_si(500, 0.25)
    v = np.array([3.0, 4.0, 5.0])
    T = np.array([K.taylor_life(x, n, C) for x in v])
    t = T / 3.0
    assert K.cumulative_damage(t, v, n, C) == pytest.approx(1.0, rel=1e-12)


KC = np.array([1.5e9, 1.725e9, 2.15e9])
MC = np.array([0.22, 0.24, 0.2])


def _cuts(m, seed=1):
    rng = np.random.default_rng(seed)
    f = rng.uniform(1e-4, 4e-4, m)
    ap = rng.uniform(5e-4, 4e-3, m)
    vc = rng.uniform(1.5, 5.0, m)
    t = rng.uniform(5, 60, m)
    mat = rng.integers(0, 3, m)
    tool = rng.integers(0, 16, m)
    kr = np.full(16, math.radians(95))
    r = rng.choice([4e-4, 8e-4, 1.2e-3], 16)
    n = np.where(np.arange(16) % 3 == 0, 0.125, np.where(np.arange(16) % 3 == 1, 0.25, 0.3))  # integer and generic powers
    C = np.full(16, K.taylor_C_si(500, 0.25))
    return (f, ap, vc, t, mat, tool), (kr, r, n, C)


def _batch(cuts, tools, m):
    out = [np.empty(m) for _ in range(4)]
    wear = K.cuts_batch(*cuts, KC, MC, *K.batch.tool_tables(*tools), *out)
    return out, wear


def test_scalar_and_batch_agree_and_threads_do_not_matter():
    m = 200000
    cuts, tools = _cuts(m)
    (Fc, Pc, T, Ra), wear = _batch(cuts, tools, m)
    f, ap, vc, t, mat, tool = cuts
    kr, r, n, C = tools
    for i in range(0, m, 997):
        j, q = tool[i], mat[i]
        fc, pc, tl, ra, frac = K.cuts_scalar(f[i], ap[i], vc[i], KC[q], MC[q], kr[j], n[j], C[j], r[j], t[i])
        for x, y in ((fc, Fc[i]), (pc, Pc[i]), (tl, T[i]), (ra, Ra[i])):
            assert abs(x - y) <= 4 * np.spacing(abs(y))
        # the fused force equals the Kienzle turning kernel, the life the Taylor kernel
        assert fc == pytest.approx(K.turning_force(f[i], ap[i], kr[j], KC[q], MC[q]), rel=1e-13)
        assert tl == pytest.approx(K.taylor_life(vc[i], n[j], C[j]), rel=1e-13)
    assert wear == pytest.approx(np.bincount(tool, weights=t / T, minlength=16), rel=1e-12)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        (Fc1, _, _, _), wear1 = _batch(cuts, tools, m)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        (Fc2, _, _, _), wear2 = _batch(cuts, tools, m)
    finally:
        numba.set_num_threads(before)
    assert np.array_equal(Fc1, Fc2) and np.array_equal(wear1, wear2)


def test_signal_independent_of_chunks_and_threads():
    cs, ce = np.array([0.0, 1.0]), np.array([0.8, 1.9])
    args = (cs, ce, np.array([50.0, 50.0]), np.array([4.0, 4.0]), np.array([0.0, 0.25e-3]), 3e-4, np.array([0, 1]),
            np.array([610.0, 610.0]), 1.0, 0.2, 9)
    whole, vb, stab = K.vibration_signal(0.0, 20000, 10000.0, *args)
    part, _, _ = K.vibration_signal(0.5, 10000, 10000.0, *args)
    assert np.array_equal(whole[5000:15000], part)
    numba.set_num_threads(1)
    one, _, _ = K.vibration_signal(0.0, 20000, 10000.0, *args)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
    assert np.array_equal(whole, one)
    # ground truth: idle, stable with fresh tool, chatter with worn tool; chatter and wear raise the level
    assert stab[9000] == -1 and stab[1000] == 1 and stab[15000] == 0
    assert whole[11000:18000].std() > 2 * whole[1000:7000].std()
    # the spectrum of the stable cut peaks at the tooth-passing frequency 200 Hz
    spec = np.abs(np.fft.rfft(whole[0:8000]))
    freqs = np.fft.rfftfreq(8000, 1 / 10000.0)
    assert freqs[np.argmax(spec)] == pytest.approx(200.0, abs=1.5)


@pytest.mark.parametrize("call", [
    lambda: K.turning_force(-1e-4, 1e-3, 1.0, 1e9, 0.2),
    lambda: K.turning_force(1e-4, 0.0, 1.0, 1e9, 0.2),
    lambda: K.rz_theoretical(1e-4, 0.0),
    lambda: K.taylor_life(0.0, 0.25, 10.0),
    lambda: K.b_lim_min(1e8, 0.02, 0.0),
    lambda: K.lumped_time_to_temperature(500.0, 300.0, 400.0, 10.0, 7800.0, 450.0, 0.01, 1.0),
    lambda: K.blanking_force(0.1, -0.002, 3e8),
    lambda: K.heat_input(24.0, 180.0, 0.0, 0.8),
    lambda: K.t85_thick(1e6, 600.0),
    lambda: _batch(((np.array([1e-4, -1e-4]),) + _cuts(2)[0][1:]), _cuts(2)[1], 2),
    # table indices outside the tables: the block is skipped, not read out of bounds
    lambda: _batch(_cuts(5000)[0][:5] + (np.r_[np.zeros(4999, np.int64), -1],), _cuts(5000)[1], 5000),
    lambda: _batch(_cuts(5000)[0][:5] + (np.r_[16, np.zeros(4999, np.int64)],), _cuts(5000)[1], 5000),
    lambda: _batch(_cuts(3)[0][:4] + (np.array([0, 3, 1], np.int32),) + _cuts(3)[0][5:], _cuts(3)[1], 3),
])
def test_invalid_inputs_raise(call):
    with pytest.raises(ValueError):
        call()


def test_docstring_examples():
    for m in K.MODULES:
        res = doctest.testmod(m, optionflags=doctest.ELLIPSIS)
        assert res.failed == 0, m.__name__


def test_material_table_names_its_source_and_unknown_name_says_where():
    assert all(m.source for m in K.MATERIALS.values())
    with pytest.raises(KeyError, match="MATERIALS"):
        K.get_material("unobtainium")
    n, c = K.get_tool("carbide")
    assert c == pytest.approx(500 * 60 ** (0.25 - 1))
