"""The compiled engine: the flow-line core played by a numba event loop (``kernels/engine_loop.py``).

``twin.simulate(sc, engine="compiled")`` assembles the plant exactly as the SimPy engine does
(``Run(..., start=False)``: the same stations, buffers, routing table, calendar transitions),
translates it into arrays, plays it in numba and hands the same five logs (state, operations,
part events, buffer levels, failures) to the same :class:`~twin.result.Result`, so every KPI is
computed by the same code.

**Random numbers.** Every stream is the SimPy engine's own stream: the same
``(seed, replication, entity, purpose)`` generator, drawn by the same sampler in the same blocks
of 512 (``twin.distributions``), in Python, into a buffer the loop reads; the loop returns when a
buffer runs low and Python draws the next blocks. So both engines draw the same numbers in the
same order, and a scenario gives the same event log byte for byte on either engine, with
constant times and with random ones (``tests/core/test_compiled.py`` checks both).

**The subset** (:func:`reasons` lists what keeps a scenario out, one reason per line):
stations of kind ``machine`` (and kinds that are the generic machine under another name) with
parallel units, process times of every distribution, setups, scrap and rework, failures on the
four bases without a crew, ``shift_end``; buffers of kind ``buffer`` (finite, unbounded, zero);
parallel groups; saturated release with a product mix, arrivals and orders; the plant and
per-station calendars (shifts, breaks, holidays, shutdowns, planned-maintenance windows). Not in
it: physics stations, furnaces, robots, AGVs and conveyors, operators and crews, maintenance
plans (``maintenance:``), dispatching rules other than FIFO, release by lots or demand,
automation ``rules``, ``signals`` and ``recording``.

``engine="auto"`` plays a scenario in the subset compiled and any other with SimPy;
``Result.engine`` says which ran and ``Result.engine_reasons`` why the compiled one did not.
"""

from __future__ import annotations

import numpy as np

from .distributions import BLOCK, Constant, _block_fn

__all__ = ["ENGINES", "reasons", "fits", "simulate_compiled", "choose", "EngineError", "warm"]

ENGINES = ("simpy", "compiled", "auto")

#: a station kind's runtime must leave these hooks as the generic machine has them
_HOOKS = ("process_duration", "outcome", "setup_time", "on_complete", "start", "set_stop", "pull", "destination",
          "unit_maintained", "maintained")


class EngineError(ValueError):
    """The compiled engine was asked for a scenario outside its subset (the message lists why)."""

    def __init__(self, why: list[str]):
        self.reasons = list(why)
        super().__init__("the compiled engine cannot play this scenario: " + "; ".join(why)
                         + " (use --engine simpy or auto)")


def _machine_classes():
    from .registry import registry

    base = registry.get("machine")
    return base.runtime, base.spec


def reasons(sc) -> list[str]:
    """Why the compiled engine cannot play ``sc`` (a parsed scenario); [] when it can."""
    from .registry import registry

    Machine, MachineSpec = _machine_classes()
    out: list[str] = []
    for name, spec in sc.stations.items():
        kind = registry.get(spec.kind)
        rt = kind.runtime
        plain = issubclass(rt, Machine) and all(getattr(rt, h) is getattr(Machine, h) for h in _HOOKS) and \
            set(type(spec).model_fields) <= set(MachineSpec.model_fields)
        if not plain:
            what = "physics" if "physics" in (rt.__doc__ or "") or spec.kind in ("cnc_lathe", "cnc_mill", "drill") else \
                "its own process model"
            art = "an" if spec.kind[0] in "aeiou" else "a"
            out.append(f"station {name} is {art} {spec.kind} ({what})")
            continue
        if spec.operator is not None:
            out.append(f"station {name} needs operators")
        if spec.loader is not None:
            out.append(f"station {name} has a robot loader")
        if spec.dispatch != "fifo":
            out.append(f"station {name} dispatches by {spec.dispatch} (only fifo)")
        if spec.maintenance:
            out.append(f"station {name} has maintenance plans")
        for i, f in enumerate(spec.failures):
            if f.crew is not None:
                out.append(f"station {name} failure {f.name!r} waits for crew {f.crew}")
    for name, spec in sc.buffers.items():
        if spec.kind != "buffer":
            out.append(f"buffer {name} is {'an' if spec.kind[0] in 'aeiou' else 'a'} {spec.kind}")
    if sc.release.kind not in ("saturated", "arrivals", "orders"):
        out.append(f"release by {sc.release.kind}")
    if sc.rules:
        out.append("rules")
    if sc.signals:
        out.append("signals")
    if sc.recording is not None:
        out.append("recording")
    if sc.operators:
        out.append("operators")
    if sc.crews:
        out.append("crews")
    return out


def fits(sc) -> bool:
    return not reasons(sc)


class SimulationStalled(RuntimeError):
    """The compiled loop's clock stood still for :attr:`_Compiled.STALL_EVENTS` events."""


def choose(sc, engine: str) -> tuple[str, list[str]]:
    """The engine that plays ``sc`` for the requested ``engine`` and, when the compiled one does
    not, why (``EngineError`` when ``compiled`` was asked for and does not fit)."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "simpy":
        return "simpy", []
    why = reasons(sc)
    if not why:
        return "compiled", []
    if engine == "compiled":
        raise EngineError(why)
    return "simpy", why


# ---- translation ------------------------------------------------------------------------------
class _Streams:
    """The random streams of a run, as buffers the loop reads (see the module docstring)."""

    def __init__(self):
        self.fns: list = []  # per stream: block function (None: constant)
        self.const: list[float] = []

    def add_dist(self, dist, rng) -> int:
        if isinstance(dist, Constant):
            self.fns.append(None)
            self.const.append(float(dist.value))
        else:
            self.fns.append(_block_fn(dist, rng))
            self.const.append(0.0)
        return len(self.fns) - 1

    def add_uniform(self, rng) -> int:
        self.fns.append(lambda n, rng=rng: rng.random(n))
        self.const.append(0.0)
        return len(self.fns) - 1


def _grow(a: np.ndarray, n: int) -> np.ndarray:
    """``a`` with ``n`` rows (the new ones uninitialised: the loop writes before it reads)."""
    out = np.empty((n,) + a.shape[1:], dtype=a.dtype)
    out[: a.shape[0]] = a
    return out


def _grow_cols(a: np.ndarray, n: int) -> np.ndarray:
    """A log (one row per column) with room for ``n`` entries."""
    out = np.empty((a.shape[0], n), dtype=a.dtype)
    out[:, : a.shape[1]] = a
    return out


class _Compiled:
    """A run of the compiled engine: the assembled Run, its arrays, the loop's state."""

    def __init__(self, run):
        from .kernels import engine_loop as L

        self.L = L
        self.run = run
        self._started = False
        sc = run.scenario
        streams = self.streams = _Streams()
        st_names = list(run.stations)
        st_index = {n: i for i, n in enumerate(st_names)}
        machines = [run.stations[n] for n in st_names]
        units = [u for m in machines for u in m.units]
        U, M, P = len(units), len(machines), len(run.products)
        NB = len(run.buffer_names)
        bufs = sorted(run.buffers.values(), key=lambda b: b.bid)
        assert [b.bid for b in bufs] == list(range(NB))
        srcs = run.sources
        NS = len(srcs)
        place_of = {id(b): b.bid for b in bufs}
        for s, src in enumerate(srcs):
            place_of[id(src)] = NB + s
        L_max = max(len(sc.products[p].routing) for p in run.products)
        # destinations
        groups: list[list[int]] = []
        group_of: dict[int, int] = {}

        def dest_code(d) -> int:
            if d is run.sink:
                return L.SINK
            if id(d) in place_of:
                return place_of[id(d)]
            g = group_of.get(id(d))
            if g is None:
                g = group_of[id(d)] = len(groups)
                groups.append([b.bid for b in d.cands])
            return L.CHOICE0 - g

        # ---- stations and units
        m_u0 = np.zeros(M, np.int64)
        m_u1 = np.zeros(M, np.int64)
        in_list: list[int] = []
        m_in0 = np.zeros(M, np.int64)
        m_in1 = np.zeros(M, np.int64)
        m_noset = np.zeros(M, np.int8)
        m_setup = np.zeros((M, P, P))
        m_setinit = np.zeros(M)
        m_scrap = np.zeros(M)
        m_rew = np.zeros(M)
        m_qs = np.full(M, -1, np.int64)
        m_rwb = np.full(M, -1, np.int64)
        m_pts = np.full((M, P, L_max), -1, np.int64)
        m_dest = np.full((M, P, L_max + 1), -99, np.int64)
        u_m = np.zeros(U, np.int64)
        u_rid = np.zeros(U, np.int64)
        u_fin = np.zeros(U, np.int8)
        u_c0 = np.zeros(U, np.int64)
        u_c1 = np.zeros(U, np.int64)
        u_hasproc = np.zeros(U, np.int8)
        u_hasop = np.zeros(U, np.int8)
        u_hascyc = np.zeros(U, np.int8)
        c_u, c_index, c_basis, c_budget, c_tbf, c_ttr = [], [], [], [], [], []
        bases = {"calendar": L.CAL, "operating": L.OPER, "processing": L.PROC, "cycles": L.CYC}
        self._first_budget = []  # (stream, clock): the first draw of each tbf stream is the initial budget
        k = 0
        for mi, m in enumerate(machines):
            spec = m.spec
            m_u0[mi] = k
            m_in0[mi] = len(in_list)
            in_list += [place_of[id(b)] for b in m.inputs]
            m_in1[mi] = len(in_list)
            m_noset[mi] = 1 if m._no_setup else 0
            table, initial = m._setup
            m_setup[mi] = np.asarray(table, float).reshape(P, P) if P else 0.0
            m_setinit[mi] = initial
            m_scrap[mi] = spec.scrap
            m_rew[mi] = spec.rework
            if m._q is not None:
                m_qs[mi] = streams.add_uniform(run.streams.generator(m.name, "quality"))
            if m.rework_buffer is not None:
                m_rwb[mi] = m.rework_buffer.bid
            for p, pname, i, step in sc.visits(m.name):
                dist = step.process_time if step.process_time is not None else spec.process_time
                m_pts[mi, p, i] = streams.add_dist(dist, run.streams.generator(m.name, f"process:{pname}:{i}"))
            for (p, i, a), d in run._dest.items():
                if a == m.name:
                    m_dest[mi, p, i] = dest_code(d)
            for u in m.units:
                u_m[k] = mi
                u_rid[k] = u.rid
                u_fin[k] = 1 if u.finish_first else 0
                u_c0[k] = len(c_u)
                for ci, f in enumerate(spec.failures):
                    tbf, ttr = f.resolved()
                    c = len(c_u)
                    c_u.append(k)
                    c_index.append(ci)
                    c_basis.append(bases[f.basis])
                    c_tbf.append(streams.add_dist(tbf, run.streams.generator(u.name, f"failure:{f.name}:tbf")))
                    c_ttr.append(streams.add_dist(ttr, run.streams.generator(u.name, f"failure:{f.name}:ttr")))
                    c_budget.append(np.nan)
                    self._first_budget.append((c_tbf[-1], c, u.clocks[ci].budget))
                    u_hasproc[k] |= f.basis == "processing"
                    u_hasop[k] |= f.basis == "operating"
                    u_hascyc[k] |= f.basis == "cycles"
                u_c1[k] = len(c_u)
                k += 1
            m_u1[mi] = k
        # ---- sources and orders
        s_kind = np.zeros(NS, np.int64)
        s_p0 = np.zeros(NS, np.int64)
        s_p1 = np.zeros(NS, np.int64)
        sp_list: list[int] = []
        sp_cum: list[float] = []
        s_mixs = np.full(NS, -1, np.int64)
        s_ias = np.full(NS, -1, np.int64)
        s_limit = np.full(NS, -1, np.int64)
        s_dtab = np.full((NS, max(P, 1)), -99, np.int64)
        o_t, o_prod, o_qty, o_due, o_src = [], [], [], [], []
        rel = sc.release
        for s, src in enumerate(srcs):
            s_kind[s] = {"saturated": 0, "arrivals": 1, "orders": 2}[src.kind]
            s_p0[s] = len(sp_list)
            sp_list += list(src.products)
            cum = list(src._cum)
            sp_cum += cum + [1.0] * (len(src.products) - len(cum))
            s_p1[s] = len(sp_list)
            if len(src.products) > 1:
                s_mixs[s] = streams.add_uniform(run.streams.generator(src.name, "mix"))
            if src.kind == "arrivals":
                s_ias[s] = streams.add_dist(rel.interarrival, run.streams.generator(src.name, "interarrival"))
                s_limit[s] = -1 if rel.limit is None else rel.limit
            if src.kind != "saturated":
                for p in range(P):
                    s_dtab[s, p] = dest_code(run._dest[(p, 0, "source")])
            if src.kind == "orders":
                for o in sorted(rel.orders, key=lambda o: o.release):
                    o_t.append(float(o.release))
                    o_prod.append(run.product_index[o.product])
                    o_qty.append(int(o.quantity))
                    o_due.append(np.inf if o.due is None else float(o.due))
                    o_src.append(s)
        # ---- calendar transitions
        cal = run.calendar_events()
        cal_t = np.array([e[0] for e in cal], float)
        cal_code = np.array([e[1] for e in cal], np.int64)
        cal_delta = np.array([e[3] for e in cal], np.int64)
        cal_s0 = np.zeros(len(cal), np.int64)
        cal_s1 = np.zeros(len(cal), np.int64)
        cal_sl: list[int] = []
        for i, e in enumerate(cal):
            cal_s0[i] = len(cal_sl)
            cal_sl += [st_index[n] for n in e[2]]
            cal_s1[i] = len(cal_sl)
        # ---- choices
        ch0 = np.zeros(len(groups), np.int64)
        ch1 = np.zeros(len(groups), np.int64)
        ch_list: list[int] = []
        for g, members in enumerate(groups):
            ch0[g] = len(ch_list)
            ch_list += members
            ch1[g] = len(ch_list)
        # ---- buffers
        b_cap = np.array([L.BIG if b.capacity == float("inf") else int(b.capacity) for b in bufs], np.int64)
        max_qty = max(o_qty, default=0)
        max_cap = max((int(c) for c in b_cap if c < L.BIG), default=0)
        n_prod = U + NS + 1
        # ---- margins: the most one event can use of each buffer, log and table
        per_station_units = int(max((m_u1 - m_u0).max(initial=1), 1))
        m_rows = 8 * (U + NB + NS) + 2 * max_qty + 64
        m_heap = 4 * U + 2 * len(c_u) + 64
        m_stream = 4 * per_station_units + 16
        m_parts = 2 * U + NS + max_qty + 16
        m_queue = 2 * (U + NS) + max_qty + 16
        self.margins = dict(rows=m_rows, heap=m_heap, stream=m_stream, parts=m_parts, queue=m_queue)
        n_streams = len(streams.fns)
        self.SL = SL = max(8 * BLOCK, ((4 * m_stream + BLOCK) // BLOCK + 1) * BLOCK)
        rc = max(64, 4 * m_queue, 2 * max_cap + 2 * m_queue)
        rows0 = max(1 << 16, 4 * m_rows + 16 * len(cal))
        I = np.zeros(L.N_I, np.int64)
        I[L.I_M_ROWS], I[L.I_M_HEAP], I[L.I_M_STREAM], I[L.I_M_PARTS], I[L.I_M_QUEUE] = m_rows, m_heap, m_stream, m_parts, m_queue

        def i64(x):
            return np.asarray(x, np.int64) if len(x) else np.zeros(0, np.int64)

        def f64(x):
            return np.asarray(x, float) if len(x) else np.zeros(0)

        heap0 = max(1024, 4 * m_heap + len(cal) + len(o_t))
        parts0 = max(1024, 4 * m_parts)
        # a sweep plays many runs of one plant: size the logs from the last run of the same shape
        # (rows per simulated second), so they are allocated once instead of grown by copies
        self._shape = (U, NB, NS, len(c_u), P)
        hint = _SIZE_HINT.get(self._shape)
        H = float(run.horizon)
        rows = {k: rows0 for k in ("LS", "LO", "LP", "LV", "LF")}
        if hint is not None:
            rows = {k: max(rows0, int(r * H * 1.1) + 4 * m_rows) for k, r in hint[0].items()}
            parts0 = max(parts0, int(hint[1] * H * 1.1) + 4 * m_parts)
        NSQ = n_prod + 1
        ints = dict(
            u_m=u_m, u_rid=u_rid, u_act=np.full(U, L.STARVED), u_nst=np.zeros(U), u_susp=np.zeros(U), u_fin=u_fin,
            u_code=np.full(U, -1), u_lpart=np.full(U, -2), u_part=np.full(U, -1), u_pend=np.full(U, -1),
            u_last=np.full(U, -1), u_dest=np.full(U, -1), u_c0=u_c0, u_c1=u_c1, u_hasproc=u_hasproc, u_hasop=u_hasop,
            u_hascyc=u_hascyc, u_stops=np.zeros(9 * U),
            c_u=c_u, c_index=c_index, c_basis=c_basis, c_pend=np.full(len(c_u), -1), c_tbf=c_tbf, c_ttr=c_ttr,
            m_u0=m_u0, m_u1=m_u1, m_in0=m_in0, m_in1=m_in1, m_noset=m_noset, m_qs=m_qs, m_rwb=m_rwb,
            m_cnt=np.zeros(3 * M), m_pts=m_pts.ravel(), m_dest=m_dest.ravel(), in_list=in_list,
            ch0=ch0, ch1=ch1, ch_list=ch_list,
            b_cap=b_cap, b_head=np.zeros(NB), b_len=np.zeros(NB), b_cons=np.zeros(NB * (U + 1)), b_ncons=np.zeros(NB),
            b_prod=np.zeros(NB * n_prod), b_nprod=np.zeros(NB),
            s_kind=s_kind, s_p0=s_p0, s_p1=s_p1, sp_list=sp_list, s_mixs=s_mixs, s_ias=s_ias, s_limit=s_limit,
            s_count=np.zeros(NS), s_part=np.full(NS, -1), s_dest=np.full(NS, -1), s_dtab=s_dtab.ravel(), s_blh=np.zeros(NS), s_bll=np.zeros(NS),
            o_prod=o_prod, o_qty=o_qty, o_src=o_src,
            cal_code=cal_code, cal_delta=cal_delta, cal_s0=cal_s0, cal_s1=cal_s1, cal_sl=cal_sl,
            spos=np.zeros(n_streams), slen=np.zeros(n_streams), sconst=np.zeros(n_streams), sq=np.zeros(NSQ),
        )
        floats = dict(u_tend=np.zeros(U), u_tstart=np.zeros(U), u_rem=np.zeros(U), c_budget=c_budget,
                      c_since=np.zeros(len(c_u)), m_setup=m_setup.ravel(), m_setinit=m_setinit, m_scrap=m_scrap,
                      m_rew=m_rew, sp_cum=sp_cum, o_t=o_t, o_due=o_due, cal_t=cal_t)
        assert tuple(ints) == L.INT_FIELDS and tuple(floats) == L.FLOAT_FIELDS
        ia = [np.asarray(v, np.int64).ravel() for v in ints.values()]
        fa = [np.asarray(v, float).ravel() for v in floats.values()]
        Iarr = np.zeros(L.N_HEADER + sum(len(x) for x in ia), np.int64)
        Farr = np.zeros(L.N_F + sum(len(x) for x in fa))
        self.off = {}
        pos = L.N_HEADER
        for k, (name, x) in enumerate(zip(L.INT_FIELDS, ia)):
            Iarr[L.N_I + k] = pos
            Iarr[pos:pos + len(x)] = x
            self.off[name] = pos
            pos += len(x)
        pos = L.N_F
        for k, (name, x) in enumerate(zip(L.FLOAT_FIELDS, fa)):
            Iarr[L.N_I + len(L.INT_FIELDS) + k] = pos
            Farr[pos:pos + len(x)] = x
            self.off[name] = pos
            pos += len(x)
        Iarr[:L.N_I] = I[:L.N_I]
        Iarr[L.I_NU], Iarr[L.I_NB], Iarr[L.I_NS], Iarr[L.I_NM], Iarr[L.I_NP] = U, NB, NS, M, P
        Iarr[L.I_NL], Iarr[L.I_WC], Iarr[L.I_WP], Iarr[L.I_NSQ] = L_max, U + 1, n_prod, NSQ
        Iarr[L.I_NCAL], Iarr[L.I_NORD], Iarr[L.I_NCH] = len(cal), len(o_t), len(groups)
        lv = run.level_log.numpy()
        n_lv = len(lv["t"])
        LV = np.empty((3, rows["LV"] + n_lv))
        LV[0, :n_lv], LV[1, :n_lv], LV[2, :n_lv] = lv["t"], lv["buffer"], lv["level"]
        Iarr[L.I_NLV] = n_lv
        self.S = (Iarr, Farr, np.zeros(heap0), np.zeros((heap0, 4), np.int64), np.zeros((max(n_streams, 1), SL)),
                  np.zeros((max(NB + NS, 1), rc), np.int64), np.zeros((parts0, 2), np.int64), np.zeros((parts0, 2)),
                  np.empty((4, rows["LS"])), np.empty((6, rows["LO"])), np.empty((5, rows["LP"])), LV,
                  np.empty((4, rows["LF"])))
        for name in ("state_log", "ops_log", "part_log", "failure_log"):
            if len(getattr(run, name)):
                raise AssertionError(f"{name} written at assembly")  # (nothing but buffers log before the start)
        # streams: constants, and the first blocks of the others
        self.n_streams = n_streams
        for s, fn in enumerate(streams.fns):
            if fn is None:
                Iarr[self.off["sconst"] + s] = 1
                self.S[4][s, 0] = streams.const[s]
            else:
                self._refill(s)
        spos, sconst, cbo = self.off["spos"], self.off["sconst"], self.off["c_budget"]
        for s, c, expect in self._first_budget:  # each clock's first time between failures (drawn at assembly)
            if Iarr[sconst + s]:
                v = self.S[4][s, 0]
            else:
                v = self.S[4][s, Iarr[spos + s]]
                Iarr[spos + s] += 1
            Farr[cbo + c] = v
            assert v == expect, (v, expect)

    # ---- servicing the loop ---------------------------------------------------------------------
    def _refill(self, s: int) -> None:
        I, SV = self.S[0], self.S[4]
        po, lo = self.off["spos"] + s, self.off["slen"] + s
        pos, n = int(I[po]), int(I[lo])
        rem = n - pos
        SV[s, :rem] = SV[s, pos:n].copy()
        k = (self.SL - rem) // BLOCK
        fn = self.streams.fns[s]
        SV[s, rem:rem + k * BLOCK] = np.concatenate([fn(BLOCK) for _ in range(k)])
        I[po] = 0
        I[lo] = rem + k * BLOCK

    def _service(self) -> None:
        """Refill the streams and grow the tables that ran low (the loop stopped between events)."""
        L = self.L
        S = list(self.S)
        I = S[0]
        mg = self.margins
        I[L.I_FLAG] = 0
        ns = self.n_streams
        o = self.off
        spos, slen, sconst = (I[o[k]:o[k] + ns] for k in ("spos", "slen", "sconst"))
        for s in np.nonzero((slen - spos < 2 * mg["stream"]) & (sconst == 0))[0]:
            self._refill(int(s))
        if S[2].shape[0] - I[L.I_NH] < 2 * mg["heap"]:
            n = 2 * S[2].shape[0]
            S[2], S[3] = _grow(S[2], n), _grow(S[3], n)
        # tables that grow with simulated time: to what the rate so far needs by the horizon (+15 %)
        now, H = float(S[1][L.F_NOW]), float(self.run.horizon)
        scale = 1.15 * H / now if now > 0.01 * H else 2.0

        def size(cap: int, used: int, margin: int) -> int:
            return max(2 * cap, int(used * scale) + 4 * margin)

        for k, cnt in ((8, L.I_NST), (9, L.I_NOP), (10, L.I_NPL), (11, L.I_NLV), (12, L.I_NFL)):
            if S[k].shape[1] - I[cnt] < 2 * mg["rows"]:
                S[k] = _grow_cols(S[k], size(S[k].shape[1], int(I[cnt]), mg["rows"]))
        if S[6].shape[0] - I[L.I_NEXTPART] < 2 * mg["parts"]:
            n = size(S[6].shape[0], int(I[L.I_NEXTPART]), mg["parts"])
            S[6], S[7] = _grow(S[6], n), _grow(S[7], n)
        NB, NS = int(I[L.I_NB]), int(I[L.I_NS])
        Q = S[5]
        rows = [(r, o["b_head"] + r, o["b_len"] + r) for r in range(NB)] + \
               [(NB + s, o["s_blh"] + s, o["s_bll"] + s) for s in range(NS)]
        if rows and Q.shape[1] - max(I[lo] for _, _, lo in rows) < 2 * mg["queue"]:
            rc = Q.shape[1]
            new = np.zeros((Q.shape[0], 2 * rc), np.int64)
            for r, ho, lo in rows:
                idx = (I[ho] + np.arange(I[lo])) % rc
                new[r, : I[lo]] = Q[r, idx]
                I[ho] = 0
            S[5] = new
        self.S = tuple(S)

    def play(self, until: float | None = None) -> None:
        """Play to ``until`` (default: the horizon); may be called again with a later time."""
        L = self.L
        if not self._started:
            L.start(self.S)
            self._started = True
        H = float(self.run.horizon)
        t = H if until is None else min(float(until), H)
        while L.run(self.S, t):
            self._guard()
            self._service()

    #: events at one instant of simulated time after which a run is stopped as a zero-time loop
    STALL_EVENTS = 5_000_000

    def _guard(self) -> None:
        """Stop a plant whose clock stands still (a loop of zero-duration events, e.g. a station
        with ``process_time: 0`` fed without limit): the loop would otherwise run, and its tables
        grow, until memory runs out. Checked where the loop hands back to grow its tables."""
        L, I = self.L, self.S[0]
        now, events = float(self.S[1][L.F_NOW]), int(I[L.I_EVENTS])
        if now != getattr(self, "_g_now", None):
            self._g_now, self._g_events = now, events
        elif events - self._g_events > self.STALL_EVENTS:
            raise SimulationStalled(f"the simulation made no progress: {events - self._g_events:,} events at sim time {now:g} s "
                               "(zero-duration events in a loop? e.g. a station with process_time 0 fed without limit)")

    # ---- results ----------------------------------------------------------------------------------
    def finish(self):
        """Hand the logs and counters to the Run, so Result.from_run reads them as from a SimPy run."""
        L, S, run = self.L, self.S, self.run
        I = S[0]
        dtypes = {"LS": ("f8", "i4", "i1", "i8"), "LO": ("i8", "i4", "i4", "f8", "f8", "i1"),
                  "LP": ("f8", "i8", "i1", "i4", "f8"), "LV": ("f8", "i4", "i4"), "LF": ("f8", "i4", "i4", "f8")}
        counts = {"LS": L.I_NST, "LO": L.I_NOP, "LP": L.I_NPL, "LV": L.I_NLV, "LF": L.I_NFL}
        logs = {}
        for k, name in enumerate(L.ARRAYS[8:], start=8):
            n = int(I[counts[name]])
            A = S[k][:, :n]
            logs[name] = _Log(**{c: A[j].astype(dt, copy=False) for j, (c, dt) in enumerate(zip(L.LOG_COLUMNS[name], dtypes[name]))})
        run.state_log, run.ops_log, run.part_log, run.level_log, run.failure_log = (
            logs["LS"], logs["LO"], logs["LP"], logs["LV"], logs["LF"])
        H = float(run.horizon)
        _SIZE_HINT[self._shape] = ({k: int(I[c]) / H for k, c in counts.items()}, int(I[L.I_NEXTPART]) / H)
        if len(_SIZE_HINT) > 64:
            _SIZE_HINT.pop(next(iter(_SIZE_HINT)))
        run.clock.now = float(S[1][L.F_NOW])
        run.sink.completed = int(I[L.I_COMPLETED])
        run.released = int(I[L.I_RELEASED])
        run.scrapped = int(I[L.I_SCRAPPED])
        run.wip = int(I[L.I_WIP])
        run.next_part_id = int(I[L.I_NEXTPART])
        run.events_processed = int(I[L.I_EVENTS])
        o = self.off
        k = 0
        for mi, m in enumerate(run.stations.values()):
            m.parts_all, m.parts_good, m.parts_bad = (int(x) for x in I[o["m_cnt"] + 3 * mi:o["m_cnt"] + 3 * mi + 3])
            for u in m.units:
                u.code = int(I[o["u_code"] + k])
                u.activity = int(I[o["u_act"] + k])
                k += 1
        res = run.result()
        res.engine = "compiled"
        res.engine_reasons = ()
        return res


#: plant shape -> ({log: rows}, parts) per simulated second of the last run of that shape
_SIZE_HINT: dict[tuple, tuple[dict, float]] = {}


class _Log:
    """A finished log as numpy columns (what :class:`~twin.log.Columns` gives after a run)."""

    def __init__(self, **cols):
        self.cols = cols

    def __len__(self) -> int:
        return len(next(iter(self.cols.values())))

    def numpy(self, copy: bool = True) -> dict[str, np.ndarray]:
        return {k: (v.copy() if copy else v) for k, v in self.cols.items()}

    def nbytes(self) -> int:
        return sum(v.nbytes for v in self.cols.values())


def simulate_compiled(scenario, seed=None, replication: int = 0, horizon=None, warmup=None, progress=None,
                      chunks: int = 100):
    """Run ``scenario`` to its horizon on the compiled engine (:class:`EngineError` if it is
    outside the subset) and return the :class:`~twin.result.Result`. ``progress(t)`` is called
    after each of ``chunks`` equal steps of simulated time; returning False stops (and returns None)."""
    from .engine import Run
    from .scenario import ScenarioBase, parse_scenario

    if not isinstance(scenario, ScenarioBase) or horizon is not None or warmup is not None:
        scenario = parse_scenario(scenario, horizon=horizon, warmup=warmup)
    why = reasons(scenario)
    if why:
        raise EngineError(why)
    run = Run(scenario, seed=seed, replication=replication, start=False)
    c = _Compiled(run)
    if progress is None:
        c.play()
    else:
        for k in range(1, chunks + 1):
            c.play(run.horizon * k / chunks)
            if progress(run.horizon * k / chunks) is False:
                return None
    return c.finish()


def warm() -> None:
    """Compile the loop and the KPI pass (or load them from numba's cache) with a tiny scenario
    (for test sessions and servers)."""
    simulate_compiled({
        "name": "warm", "horizon": 200, "seed": 1,
        "stations": {"A": {"process_time": 1.0, "setup": {"initial": 1.0}, "scrap": 0.1, "rework": 0.1,
                           "failures": [{"basis": "operating", "tbf": 30, "ttr": 2}]},
                     "B": {"process_time": {"dist": "exponential", "mean": 1.0},
                           "failures": [{"basis": "cycles", "tbf": 20, "ttr": 2}]}},
        "buffers": {"Q": {"capacity": 2, "between": ["A", "B"]}},
        "products": {"p": {"routing": [{"station": "A"}, {"station": "B"}]}},
    }).kpis
