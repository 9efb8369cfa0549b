"""The compiled event loop of the flow-line core (numba, ``cache=True``, no object mode).

A transcription of the SimPy engine's station logic (``twin/engine.py`` ``_drive`` and
``Clock``, ``processes/machine.py`` ``Unit``, ``processes/resource.py`` ``Resource`` and
``FailureClock``, ``processes/buffer.py`` ``Buffer``, ``processes/source.py``, ``processes/sink.py``)
for the common subset ``twin.compiled`` accepts: machines with parallel units, finite and
unbounded buffers with blocking after service, parallel groups (join the buffer with most free
space), product mix, arrivals and orders, failures on the four bases (no crews), setups, scrap
and rework, calendar stops (shifts, breaks, holidays, shutdowns, per-station calendars,
planned-maintenance windows, ``shift_end: finish``).

It keeps the SimPy engine's order of events exactly, so both engines write the same logs byte
for byte when they draw the same numbers:

* the event heap is ordered by ``(time, event id)``, the id counting every scheduled wake-up in
  the order the SimPy engine schedules them (``Clock.after`` takes ``next(_eid)``); a wake-up a
  resource abandons stays in the heap and is recognised as stale by its id (``ev is pending``);
* ``Clock.soon``: a buffer that frees space hands over to its first blocked producer at once when
  nothing else is being handed over, else after the current hand-over (a FIFO); here the caller
  of ``get`` drains the queue right after the take (where the SimPy engine runs it inside
  ``get``, which returns right after), and the hand-overs run in a second copy of the start
  logic (``_try_start_in``) that only queues, so there is no recursion;
* time arithmetic is the same expressions in the same order (``now + delay``,
  ``now + max(0, t - now)`` for absolute times, remaining work ``t_end - now``).

Random numbers are not drawn here: every stream's values are drawn in Python by the same
samplers, in the same blocks, as the SimPy engine (``twin.compiled``) and handed over in buffers;
when a buffer (or a log, the heap, the part table, a queue) runs low the loop returns between two
events and Python refills or grows it, then calls the loop again.

All state lives in thirteen arrays (a tuple ``S``, see :data:`ARRAYS`): the fixed-size integer
and float state of units, clocks, stations, buffers, sources, orders and calendar transitions in
one int64 array ``I`` and one float64 array ``F`` (each field a segment whose offset is kept in
``I``'s header, :data:`INT_FIELDS` / :data:`FLOAT_FIELDS`), and the tables that grow (heap,
random streams, queues, parts, the five logs) in their own arrays. Few arguments per call keep
the compile short (a tuple of many arrays compiled for minutes).

>>> from twin.kernels.engine_loop import HEAP_KINDS
>>> HEAP_KINDS["done"]
0
"""

from __future__ import annotations

import numpy as np
from numba import njit

# ---- codes (twin.states.Code) -----------------------------------------------------------------
PROCESSING, SETUP, STARVED, BLOCKED, HELD, FAILURE, PM, BREAK, OFF_SHIFT = 0, 1, 2, 3, 4, 5, 6, 7, 8
GOOD, SCRAP, REWORK = 0, 1, 2
RELEASE, COMPLETE, SCRAPPED = 0, 1, 2
# clock bases
CAL, OPER, PROC, CYC = 0, 1, 2, 3
# heap event kinds
EV_DONE, EV_CLOCK, EV_REPAIR, EV_CAL, EV_ARRIVAL, EV_ORDER = 0, 1, 2, 3, 4, 5
HEAP_KINDS = {"done": EV_DONE, "clock": EV_CLOCK, "repair": EV_REPAIR, "calendar": EV_CAL, "arrival": EV_ARRIVAL,
              "order": EV_ORDER}
SINK = -2
CHOICE0 = -10  # destination codes <= CHOICE0 name a choice of buffers (-10 - group)
BIG = 1 << 62  # capacity of an unbounded buffer

#: the arrays of the state tuple ``S``, in order
ARRAYS = ("I", "F", "HT", "HI", "SV", "Q", "PI", "PF", "LS", "LO", "LP", "LV", "LF")
#: columns of the logs (float64, one row per column; integers are exact), as the SimPy engine's logs name them
LOG_COLUMNS = {
    "LS": ("t", "resource", "code", "part"),
    "LO": ("part", "resource", "step", "t_start", "t_end", "outcome"),
    "LP": ("t", "part", "event", "product", "due"),
    "LV": ("t", "buffer", "level"),
    "LF": ("t", "resource", "profile", "ttr"),
}

# ---- scalar slots of I ----------------------------------------------------------------------------
I_NH, I_EID, I_DRAIN, I_FLAG = 0, 1, 2, 3
I_NST, I_NOP, I_NPL, I_NLV, I_NFL = 4, 5, 6, 7, 8
I_NEXTPART, I_COMPLETED, I_RELEASED, I_SCRAPPED, I_WIP = 9, 10, 11, 12, 13
I_SQH, I_SQN = 14, 15  # soon queue: head, length
I_M_ROWS, I_M_HEAP, I_M_STREAM, I_M_PARTS, I_M_QUEUE = 16, 17, 18, 19, 20  # margins
I_EVENTS, I_NU, I_NB, I_NS, I_NM, I_NP, I_NL, I_WC, I_WP, I_NSQ, I_NCAL, I_NORD, I_NCH = range(21, 34)
N_I = 40
F_NOW = 0
N_F = 4

#: integer fields: name -> length in entities (U units, C clocks, M stations, ...), see twin.compiled
INT_FIELDS = (
    "u_m", "u_rid", "u_act", "u_nst", "u_susp", "u_fin", "u_code", "u_lpart", "u_part", "u_pend", "u_last", "u_dest",
    "u_c0", "u_c1", "u_hasproc", "u_hasop", "u_hascyc", "u_stops",
    "c_u", "c_index", "c_basis", "c_pend", "c_tbf", "c_ttr",
    "m_u0", "m_u1", "m_in0", "m_in1", "m_noset", "m_qs", "m_rwb", "m_cnt", "m_pts", "m_dest", "in_list",
    "ch0", "ch1", "ch_list",
    "b_cap", "b_head", "b_len", "b_cons", "b_ncons", "b_prod", "b_nprod",
    "s_kind", "s_p0", "s_p1", "sp_list", "s_mixs", "s_ias", "s_limit", "s_count", "s_part", "s_dest", "s_dtab", "s_blh", "s_bll",
    "o_prod", "o_qty", "o_src",
    "cal_code", "cal_delta", "cal_s0", "cal_s1", "cal_sl",
    "spos", "slen", "sconst", "sq",
)
FLOAT_FIELDS = ("u_tend", "u_tstart", "u_rem", "c_budget", "c_since", "m_setup", "m_setinit", "m_scrap", "m_rew",
                "sp_cum", "o_t", "o_due", "cal_t")
# header slots holding each field's offset: O_<FIELD> in I (float fields' offsets are into F)
for _k, _n in enumerate(INT_FIELDS + FLOAT_FIELDS):
    globals()["O_" + _n.upper()] = N_I + _k
N_HEADER = N_I + len(INT_FIELDS) + len(FLOAT_FIELDS)
del _k, _n

_PRIO = (OFF_SHIFT, BREAK, PM, FAILURE, HELD)


# ---- heap ---------------------------------------------------------------------------------------
@njit(cache=True, _nrt=False)
def _push(S, t, kind, a, b):
    I, HT, HI = S[0], S[2], S[3]
    eid = I[I_EID]
    I[I_EID] = eid + 1
    n = I[I_NH]
    I[I_NH] = n + 1
    i = n
    while i > 0:
        p = (i - 1) >> 1
        tp = HT[p]
        if tp < t or (tp == t and HI[p, 0] < eid):
            break
        HT[i] = tp
        HI[i, 0] = HI[p, 0]
        HI[i, 1] = HI[p, 1]
        HI[i, 2] = HI[p, 2]
        HI[i, 3] = HI[p, 3]
        i = p
    HT[i] = t
    HI[i, 0] = eid
    HI[i, 1] = kind
    HI[i, 2] = a
    HI[i, 3] = b
    if n + 1 > HT.shape[0] - I[I_M_HEAP]:
        I[I_FLAG] = 1
    return eid


@njit(cache=True, _nrt=False)
def _after(S, delay, kind, a, b):
    return _push(S, S[1][F_NOW] + delay, kind, a, b)


@njit(cache=True, _nrt=False)
def _at(S, t, kind, a, b):
    d = t - S[1][F_NOW]
    if not d > 0.0:
        d = 0.0
    return _after(S, d, kind, a, b)


@njit(cache=True, _nrt=False)
def _pop(S):
    """Remove the top entry (read it before calling)."""
    I, HT, HI = S[0], S[2], S[3]
    n = I[I_NH] - 1
    I[I_NH] = n
    t, e, k, a, b = HT[n], HI[n, 0], HI[n, 1], HI[n, 2], HI[n, 3]
    i = 0
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        r = c + 1
        if r < n and (HT[r] < HT[c] or (HT[r] == HT[c] and HI[r, 0] < HI[c, 0])):
            c = r
        if HT[c] < t or (HT[c] == t and HI[c, 0] < e):
            HT[i] = HT[c]
            HI[i, 0] = HI[c, 0]
            HI[i, 1] = HI[c, 1]
            HI[i, 2] = HI[c, 2]
            HI[i, 3] = HI[c, 3]
            i = c
        else:
            break
    HT[i] = t
    HI[i, 0] = e
    HI[i, 1] = k
    HI[i, 2] = a
    HI[i, 3] = b


# ---- streams and logs ---------------------------------------------------------------------------
@njit(cache=True, _nrt=False)
def _draw(S, s):
    I, SV = S[0], S[4]
    if I[I[O_SCONST] + s]:
        return SV[s, 0]
    o = I[O_SPOS] + s
    k = I[o]
    x = SV[s, k]
    k += 1
    I[o] = k
    if k > I[I[O_SLEN] + s] - I[I_M_STREAM]:
        I[I_FLAG] = 1
    return x


@njit(cache=True, _nrt=False)
def _row(S, L, slot):
    """Index of a new row of log ``L`` (its count in I[slot])."""
    I = S[0]
    n = I[slot]
    I[slot] = n + 1
    if n + 1 > L.shape[1] - I[I_M_ROWS]:
        I[I_FLAG] = 1
    return n


@njit(cache=True, _nrt=False)
def _log_state(S, rid, code, pid):
    LS = S[8]
    n = _row(S, LS, I_NST)
    LS[0, n] = S[1][F_NOW]
    LS[1, n] = rid
    LS[2, n] = code
    LS[3, n] = pid


@njit(cache=True, _nrt=False)
def _log_level(S, b):
    LV = S[11]
    n = _row(S, LV, I_NLV)
    LV[0, n] = S[1][F_NOW]
    LV[1, n] = b
    LV[2, n] = S[0][S[0][O_B_LEN] + b]


@njit(cache=True, _nrt=False)
def _log_part(S, p, ev):
    LP = S[10]
    n = _row(S, LP, I_NPL)
    LP[0, n] = S[1][F_NOW]
    LP[1, n] = p
    LP[2, n] = ev
    LP[3, n] = S[6][p, 0]
    LP[4, n] = S[7][p, 1]


@njit(cache=True, _nrt=False)
def _log_op(S, u, p, out):
    I, F, LO = S[0], S[1], S[9]
    n = _row(S, LO, I_NOP)
    LO[0, n] = p
    LO[1, n] = I[I[O_U_RID] + u]
    LO[2, n] = S[6][p, 1]
    LO[3, n] = F[I[O_U_TSTART] + u]
    LO[4, n] = F[F_NOW]
    LO[5, n] = out


@njit(cache=True, _nrt=False)
def _log_failure(S, u, profile, ttr):
    LF = S[12]
    n = _row(S, LF, I_NFL)
    LF[0, n] = S[1][F_NOW]
    LF[1, n] = S[0][S[0][O_U_RID] + u]
    LF[2, n] = profile
    LF[3, n] = ttr


# ---- parts --------------------------------------------------------------------------------------
@njit(cache=True, _nrt=False)
def _new_part(S, product, due):
    I, PI, PF = S[0], S[6], S[7]
    p = I[I_NEXTPART]
    I[I_NEXTPART] = p + 1
    PI[p, 0] = product
    PI[p, 1] = 0
    PF[p, 0] = S[1][F_NOW]
    PF[p, 1] = due
    _log_part(S, p, RELEASE)
    I[I_RELEASED] += 1
    I[I_WIP] += 1
    if p + 1 > PI.shape[0] - I[I_M_PARTS]:
        I[I_FLAG] = 1
    return p


# ---- queues: buffer rings (rows 0..NB-1 of Q) and source backlogs (rows NB..) ----------------------
@njit(cache=True, _nrt=False)
def _q_append(S, row, p, head_o, len_o):
    """Append to ring ``row`` of Q; ``head_o``/``len_o``: where its head and length live in I."""
    I, Q = S[0], S[5]
    rc = Q.shape[1]
    n = I[len_o]
    Q[row, (I[head_o] + n) % rc] = p
    I[len_o] = n + 1
    if n + 1 > rc - I[I_M_QUEUE]:
        I[I_FLAG] = 1


@njit(cache=True, _nrt=False)
def _q_popleft(S, row, head_o, len_o):
    I, Q = S[0], S[5]
    h = I[head_o]
    p = Q[row, h]
    I[head_o] = (h + 1) % Q.shape[1]
    I[len_o] -= 1
    return p


@njit(cache=True, _nrt=False)
def _list_popleft(I, base, cnt_o):
    x = I[base]
    n = I[cnt_o]
    for i in range(1, n):
        I[base + i - 1] = I[base + i]
    I[cnt_o] = n - 1
    return x


@njit(cache=True, _nrt=False)
def _list_remove(I, base, cnt_o, x):
    n = I[cnt_o]
    for i in range(n):
        if I[base + i] == x:
            for j in range(i + 1, n):
                I[base + j - 1] = I[base + j]
            I[cnt_o] = n - 1
            return


@njit(cache=True, _nrt=False)
def _soon(S, prod):
    I = S[0]
    I[I[O_SQ] + (I[I_SQH] + I[I_SQN]) % I[I_NSQ]] = prod
    I[I_SQN] += 1


@njit(cache=True, _nrt=False)
def _producer_part(S, prod):
    I = S[0]
    nu = I[I_NU]
    if prod < nu:
        return I[I[O_U_PART] + prod]
    return I[I[O_S_PART] + prod - nu]


@njit(cache=True, _nrt=False)
def _get(S, place):
    """Take the head part of an input (a buffer or a saturated source), or -1; a blocked producer
    moves up into the freed place (its hand-over queued: the caller drains)."""
    I, PF = S[0], S[7]
    nb = I[I_NB]
    if place >= nb:  # a saturated source: makes the part on demand
        return _new_part(S, _product(S, place - nb), np.inf)
    b = place
    now = S[1][F_NOW]
    ho, lo, npo = I[O_B_HEAD] + b, I[O_B_LEN] + b, I[O_B_NPROD] + b
    if I[lo] > 0:
        part = _q_popleft(S, b, ho, lo)
        if I[npo] > 0:
            prod = _list_popleft(I, I[O_B_PROD] + b * I[I_WP], npo)
            p2 = _producer_part(S, prod)
            PF[p2, 0] = now
            _q_append(S, b, p2, ho, lo)
            _log_level(S, b)
            _soon(S, prod)
        else:
            _log_level(S, b)
        return part
    if I[npo] > 0:  # capacity 0: direct hand-over
        prod = _list_popleft(I, I[O_B_PROD] + b * I[I_WP], npo)
        part = _producer_part(S, prod)
        PF[part, 0] = now
        _soon(S, prod)
        return part
    return -1


@njit(cache=True, _nrt=False)
def _free(S, b):
    I = S[0]
    c = I[I[O_B_CAP] + b]
    if c >= BIG:
        return np.inf
    return float(c - I[I[O_B_LEN] + b])


@njit(cache=True, _nrt=False)
def _resolve(S, d):
    """A destination code -> a buffer (a choice joins the one with most free space, first on ties)."""
    if d > CHOICE0:
        return d
    I = S[0]
    g = CHOICE0 - d
    i0, i1, cl = I[I[O_CH0] + g], I[I[O_CH1] + g], I[O_CH_LIST]
    best = I[cl + i0]
    bf = _free(S, best)
    for i in range(i0 + 1, i1):
        b = I[cl + i]
        f = _free(S, b)
        if f > bf:
            best = b
            bf = f
    return best


@njit(cache=True, _nrt=False)
def _put(S, d, p, producer):
    """Offer part ``p`` to destination ``d`` (a buffer or the sink); False: ``producer`` is now
    blocked on it."""
    I = S[0]
    if d == SINK:
        I[I_COMPLETED] += 1
        _log_part(S, p, COMPLETE)
        I[I_WIP] -= 1
        return True
    now = S[1][F_NOW]
    nco = I[O_B_NCONS] + d
    if I[nco] > 0:
        S[7][p, 0] = now
        u = _list_popleft(I, I[O_B_CONS] + d * I[I_WC], nco)
        _receive(S, u, p)
        return True
    lo = I[O_B_LEN] + d
    if I[lo] < I[I[O_B_CAP] + d]:
        S[7][p, 0] = now
        _q_append(S, d, p, I[O_B_HEAD] + d, lo)
        _log_level(S, d)
        return True
    npo = I[O_B_NPROD] + d
    I[I[O_B_PROD] + d * I[I_WP] + I[npo]] = producer
    I[npo] += 1
    return False


@njit(cache=True, _nrt=False)
def _force_put(S, d, p):
    I = S[0]
    now = S[1][F_NOW]
    nco = I[O_B_NCONS] + d
    S[7][p, 0] = now
    if I[nco] > 0:
        u = _list_popleft(I, I[O_B_CONS] + d * I[I_WC], nco)
        _receive(S, u, p)
        return
    _q_append(S, d, p, I[O_B_HEAD] + d, I[O_B_LEN] + d)
    _log_level(S, d)


@njit(cache=True, _nrt=False)
def _wait(S, place, u):
    I = S[0]
    if place < I[I_NB]:
        nco = I[O_B_NCONS] + place
        I[I[O_B_CONS] + place * I[I_WC] + I[nco]] = u
        I[nco] += 1


@njit(cache=True, _nrt=False)
def _unwait(S, place, u):
    I = S[0]
    if place < I[I_NB]:
        _list_remove(I, I[O_B_CONS] + place * I[I_WC], I[O_B_NCONS] + place, u)


# ---- sources ------------------------------------------------------------------------------------
@njit(cache=True, _nrt=False)
def _product(S, s):
    I, F = S[0], S[1]
    ms = I[I[O_S_MIXS] + s]
    p0, p1, spl = I[I[O_S_P0] + s], I[I[O_S_P1] + s], I[O_SP_LIST]
    if ms < 0:
        return I[spl + p0]
    x = _draw(S, ms)
    cum = I[O_SP_CUM]
    for i in range(p0, p1):
        if x < F[cum + i]:
            return I[spl + i]
    return I[spl + p1 - 1]


@njit(cache=True, _nrt=False)
def _src_push(S, s):
    I = S[0]
    nu, nb = I[I_NU], I[I_NB]
    po = I[O_S_PART] + s
    ho, lo = I[O_S_BLH] + s, I[O_S_BLL] + s
    while I[po] < 0 and I[lo] > 0:
        p = _q_popleft(S, nb + s, ho, lo)
        d = _resolve(S, I[I[O_S_DTAB] + s * I[I_NP] + S[6][p, 0]])
        if not _put(S, d, p, nu + s):
            I[po] = p
            I[I[O_S_DEST] + s] = d
            return


@njit(cache=True, _nrt=False)
def _arrive(S, s):
    I = S[0]
    lim = I[I[O_S_LIMIT] + s]
    co = I[O_S_COUNT] + s
    if lim >= 0 and I[co] >= lim:
        return
    I[co] += 1
    p = _new_part(S, _product(S, s), np.inf)
    _q_append(S, I[I_NB] + s, p, I[O_S_BLH] + s, I[O_S_BLL] + s)
    _src_push(S, s)
    if lim < 0 or I[co] < lim:
        _at(S, S[1][F_NOW] + _draw(S, I[I[O_S_IAS] + s]), EV_ARRIVAL, s, 0)


@njit(cache=True, _nrt=False)
def _order(S, k):
    I, F = S[0], S[1]
    s = I[I[O_O_SRC] + k]
    prod, due = I[I[O_O_PROD] + k], F[I[O_O_DUE] + k]
    for _ in range(I[I[O_O_QTY] + k]):
        I[I[O_S_COUNT] + s] += 1
        p = _new_part(S, prod, due)
        _q_append(S, I[I_NB] + s, p, I[O_S_BLH] + s, I[O_S_BLL] + s)
    _src_push(S, s)


# ---- resources: state rows, stops ---------------------------------------------------------------
@njit(cache=True, _nrt=False)
def _show(S, u):
    I = S[0]
    if I[I[O_U_SUSP] + u]:
        code = -1
        st = I[O_U_STOPS] + 9 * u
        for c in _PRIO:
            if I[st + c] > 0:
                code = c
                break
    else:
        code = I[I[O_U_ACT] + u]
    pid = I[I[O_U_PART] + u]
    co, lo = I[O_U_CODE] + u, I[O_U_LPART] + u
    if code != I[co] or pid != I[lo]:
        I[co] = code
        I[lo] = pid
        _log_state(S, I[I[O_U_RID] + u], code, pid)


@njit(cache=True, _nrt=False)
def _must_stop(S, u):
    I = S[0]
    if I[I[O_U_NST] + u] == 0:
        return False
    a = I[I[O_U_ACT] + u]
    if I[I[O_U_FIN] + u] and (a == PROCESSING or a == SETUP) and (I[I[O_U_PEND] + u] >= 0 or I[I[O_U_SUSP] + u]):
        st = I[O_U_STOPS] + 9 * u
        for c in _PRIO:
            if c != BREAK and c != OFF_SHIFT and I[st + c] > 0:
                return True
        return False
    return True


@njit(cache=True, _nrt=False)
def _suspend(S, u):
    I, F = S[0], S[1]
    now = F[F_NOW]
    a = I[I[O_U_ACT] + u]
    m = I[I[O_U_M] + u]
    if a == STARVED:
        il = I[O_IN_LIST]
        for i in range(I[I[O_M_IN0] + m], I[I[O_M_IN1] + m]):
            _unwait(S, I[il + i], u)
    elif a == BLOCKED and I[I[O_U_DEST] + u] >= 0:
        d = I[I[O_U_DEST] + u]
        _list_remove(I, I[O_B_PROD] + d * I[I_WP], I[O_B_NPROD] + d, u)
    if a == PROCESSING or a == SETUP:
        pe = I[O_U_PEND] + u
        if I[pe] >= 0:
            F[I[O_U_REM] + u] = F[I[O_U_TEND] + u] - now
            I[pe] = -1
        if a == PROCESSING and I[I[O_U_HASPROC] + u]:
            _proc_pause(S, u)
    if I[I[O_U_HASOP] + u]:
        cb, cs, cp, cba = I[O_C_BUDGET], I[O_C_SINCE], I[O_C_PEND], I[O_C_BASIS]
        for c in range(I[I[O_U_C0] + u], I[I[O_U_C1] + u]):
            if I[cba + c] == OPER and I[cp + c] >= 0:
                F[cb + c] -= now - F[cs + c]
                I[cp + c] = -1


@njit(cache=True, _nrt=False)
def _settle(S, u):
    I = S[0]
    so = I[O_U_SUSP] + u
    if I[so]:
        return True
    if I[I[O_U_NST] + u] > 0 and _must_stop(S, u):
        I[so] = 1
        _suspend(S, u)
        _show(S, u)
        return True
    return False


@njit(cache=True, _nrt=False)
def _add_stop(S, u, code):
    I = S[0]
    I[I[O_U_STOPS] + 9 * u + code] += 1
    I[I[O_U_NST] + u] += 1
    so = I[O_U_SUSP] + u
    if not I[so] and _must_stop(S, u):
        I[so] = 1
        _suspend(S, u)
    _show(S, u)


@njit(cache=True, _nrt=False)
def _remove_stop(S, u, code):
    I = S[0]
    o = I[O_U_STOPS] + 9 * u + code
    if I[o] <= 0:
        return
    I[o] -= 1
    I[I[O_U_NST] + u] -= 1
    so = I[O_U_SUSP] + u
    if I[so] and not _must_stop(S, u):
        I[so] = 0
        _resume(S, u)
    else:
        _show(S, u)


@njit(cache=True, _nrt=False)
def _resume(S, u):
    I, F = S[0], S[1]
    if I[I[O_U_HASOP] + u]:
        cb, cba = I[O_C_BUDGET], I[O_C_BASIS]
        for c in range(I[I[O_U_C0] + u], I[I[O_U_C1] + u]):
            if I[cba + c] == OPER and not np.isnan(F[cb + c]):
                _arm(S, c, F[cb + c])
    a = I[I[O_U_ACT] + u]
    now = F[F_NOW]
    if a == PROCESSING or a == SETUP:
        _show(S, u)
        rem = F[I[O_U_REM] + u]
        F[I[O_U_TEND] + u] = now + rem
        I[I[O_U_PEND] + u] = _after(S, rem, EV_DONE, u, 0)
        if a == PROCESSING and I[I[O_U_HASPROC] + u]:
            _proc_resume(S, u, rem)
    elif a == STARVED:
        _try_start_top(S, u)
    elif a == BLOCKED:
        _try_push(S, u, False)


# ---- failure clocks -----------------------------------------------------------------------------
@njit(cache=True, _nrt=False)
def _arm(S, c, delay):
    I, F = S[0], S[1]
    F[I[O_C_SINCE] + c] = F[F_NOW]
    d = delay if delay > 0.0 else 0.0
    I[I[O_C_PEND] + c] = _after(S, d, EV_CLOCK, I[I[O_C_U] + c], c)


@njit(cache=True, _nrt=False)
def _proc_resume(S, u, d):
    I, F = S[0], S[1]
    now = F[F_NOW]
    cb, cs, cba = I[O_C_BUDGET], I[O_C_SINCE], I[O_C_BASIS]
    for c in range(I[I[O_U_C0] + u], I[I[O_U_C1] + u]):
        if I[cba + c] == PROC:
            F[cs + c] = now
            if F[cb + c] <= d:
                _arm(S, c, F[cb + c])


@njit(cache=True, _nrt=False)
def _proc_pause(S, u):
    I, F = S[0], S[1]
    now = F[F_NOW]
    cb, cs, cp, cba = I[O_C_BUDGET], I[O_C_SINCE], I[O_C_PEND], I[O_C_BASIS]
    for c in range(I[I[O_U_C0] + u], I[I[O_U_C1] + u]):
        if I[cba + c] == PROC:
            if not np.isnan(F[cb + c]):
                F[cb + c] -= now - F[cs + c]
                F[cs + c] = now
            I[cp + c] = -1


@njit(cache=True, _nrt=False)
def _cycle_done(S, u):
    I, F = S[0], S[1]
    cb, cba = I[O_C_BUDGET], I[O_C_BASIS]
    due = False
    for c in range(I[I[O_U_C0] + u], I[I[O_U_C1] + u]):
        if I[cba + c] == CYC:
            F[cb + c] -= 1.0
            if F[cb + c] <= 0:
                due = True
    return due


@njit(cache=True, _nrt=False)
def _fail(S, c):
    I, F = S[0], S[1]
    u = I[I[O_C_U] + c]
    ttr = _draw(S, I[I[O_C_TTR] + c])
    _log_failure(S, u, I[I[O_C_INDEX] + c], ttr)
    F[I[O_C_BUDGET] + c] = np.nan
    I[I[O_C_PEND] + c] = -1
    _add_stop(S, u, FAILURE)
    _at(S, F[F_NOW] + ttr, EV_REPAIR, u, c)


@njit(cache=True, _nrt=False)
def _fail_due_cycles(S, u):
    I, F = S[0], S[1]
    cb, cba = I[O_C_BUDGET], I[O_C_BASIS]
    for c in range(I[I[O_U_C0] + u], I[I[O_U_C1] + u]):
        if I[cba + c] == CYC and not np.isnan(F[cb + c]) and F[cb + c] <= 0:
            _fail(S, c)


@njit(cache=True, _nrt=False)
def _repaired(S, c):
    I, F = S[0], S[1]
    u = I[I[O_C_U] + c]
    cb = I[O_C_BUDGET] + c
    F[cb] = _draw(S, I[I[O_C_TBF] + c])
    b = I[I[O_C_BASIS] + c]
    if b == CAL:
        _arm(S, c, F[cb])
    elif b == PROC:
        F[I[O_C_SINCE] + c] = F[F_NOW]
    _remove_stop(S, u, FAILURE)


# ---- the machine unit ---------------------------------------------------------------------------
@njit(cache=True, _nrt=False)
def _start_processing(S, u):
    I, F, PI = S[0], S[1], S[6]
    m = I[I[O_U_M] + u]
    p = I[I[O_U_PART] + u]
    s = I[I[O_M_PTS] + (m * I[I_NP] + PI[p, 0]) * I[I_NL] + PI[p, 1]]
    d = _draw(S, s) / 1.0
    now = F[F_NOW]
    F[I[O_U_TSTART] + u] = now
    I[I[O_U_ACT] + u] = PROCESSING
    I[I[O_U_CODE] + u] = PROCESSING
    I[I[O_U_LPART] + u] = p
    _log_state(S, I[I[O_U_RID] + u], PROCESSING, p)
    F[I[O_U_TEND] + u] = now + d
    I[I[O_U_PEND] + u] = _after(S, d, EV_DONE, u, 0)
    if I[I[O_U_HASPROC] + u]:
        _proc_resume(S, u, d)


@njit(cache=True, _nrt=False)
def _begin(S, u, p):
    I, F = S[0], S[1]
    I[I[O_U_PART] + u] = p
    m = I[I[O_U_M] + u]
    if I[I[O_M_NOSET] + m]:
        _start_processing(S, u)
        return
    last = I[I[O_U_LAST] + u]
    if last < 0:
        su = F[I[O_M_SETINIT] + m]
    else:
        P = I[I_NP]
        su = F[I[O_M_SETUP] + (m * P + last) * P + S[6][p, 0]]
    if su > 0:
        now = F[F_NOW]
        I[I[O_U_ACT] + u] = SETUP
        F[I[O_U_TSTART] + u] = now
        F[I[O_U_TEND] + u] = now + su
        _show(S, u)
        I[I[O_U_PEND] + u] = _after(S, su, EV_DONE, u, 0)
    else:
        _start_processing(S, u)


@njit(cache=True, _nrt=False)
def _receive(S, u, p):
    I = S[0]
    m = I[I[O_U_M] + u]
    i0, i1 = I[I[O_M_IN0] + m], I[I[O_M_IN1] + m]
    if i1 - i0 > 1:
        il = I[O_IN_LIST]
        for i in range(i0, i1):
            _unwait(S, I[il + i], u)
    _begin(S, u, p)


@njit(cache=True, _nrt=False)
def _peek_t(S, place):
    """(entry time of the head of an input, True), or (inf, False) when it has none; a saturated
    source always has a head, entering at inf (chosen only when no other input has a part)."""
    I = S[0]
    if place >= I[I_NB]:
        return np.inf, True
    if I[I[O_B_LEN] + place] > 0:
        return S[7][S[5][place, I[I[O_B_HEAD] + place]], 0], True
    if I[I[O_B_NPROD] + place] > 0:
        return S[7][_producer_part(S, I[I[O_B_PROD] + place * I[I_WP]]), 0], True
    return np.inf, False


@njit(cache=True, _nrt=False)
def _pull(S, u):
    I = S[0]
    m = I[I[O_U_M] + u]
    i0, i1, il = I[I[O_M_IN0] + m], I[I[O_M_IN1] + m], I[O_IN_LIST]
    if i1 - i0 == 1:
        place = I[il + i0]
        p = _get(S, place)
        if p < 0:
            _wait(S, place, u)
        return p
    best = -1
    best_t = np.inf
    for i in range(i0, i1):
        t, ok = _peek_t(S, I[il + i])
        if ok and (best < 0 or t < best_t):
            best = I[il + i]
            best_t = t
    if best >= 0:
        return _get(S, best)
    for i in range(i0, i1):
        _wait(S, I[il + i], u)
    return -1


@njit(cache=True, _nrt=False)
def _drain(S):
    I = S[0]
    I[I_DRAIN] = 1
    nu = I[I_NU]
    while I[I_SQN] > 0:
        h = I[I_SQH]
        prod = I[I[O_SQ] + h]
        I[I_SQH] = (h + 1) % I[I_NSQ]
        I[I_SQN] -= 1
        if prod < nu:
            I[I[O_U_PART] + prod] = -1
            I[I[O_U_DEST] + prod] = -1
            _try_start_in(S, prod)
        else:
            s = prod - nu
            I[I[O_S_PART] + s] = -1
            I[I[O_S_DEST] + s] = -1
            _src_push(S, s)
    I[I_DRAIN] = 0


@njit(cache=True, _nrt=False)
def _try_start_in(S, u):
    """``Unit._try_start`` inside a hand-over (hand-overs it causes are queued)."""
    I = S[0]
    if I[I[O_U_NST] + u] > 0:
        I[I[O_U_ACT] + u] = STARVED
        if _settle(S, u):
            return
    p = _pull(S, u)
    if p < 0:
        I[I[O_U_ACT] + u] = STARVED
        _show(S, u)
    else:
        _begin(S, u, p)


@njit(cache=True, _nrt=False)
def _try_start_top(S, u):
    """``Unit._try_start`` from an event (hand-overs it causes run right after the take)."""
    I = S[0]
    if I[I[O_U_NST] + u] > 0:
        I[I[O_U_ACT] + u] = STARVED
        if _settle(S, u):
            return
    p = _pull(S, u)
    if I[I_SQN] > 0 and I[I_DRAIN] == 0:
        _drain(S)
    if p < 0:
        I[I[O_U_ACT] + u] = STARVED
        _show(S, u)
    else:
        _begin(S, u, p)


@njit(cache=True, _nrt=False)
def _next(S, u, fail_now):
    if fail_now:
        I = S[0]
        I[I[O_U_ACT] + u] = STARVED
        _fail_due_cycles(S, u)
        if I[I[O_U_SUSP] + u]:
            return
    _try_start_top(S, u)


@njit(cache=True, _nrt=False)
def _dest_of(S, m, p):
    I, PI = S[0], S[6]
    return _resolve(S, I[I[O_M_DEST] + (m * I[I_NP] + PI[p, 0]) * (I[I_NL] + 1) + PI[p, 1]])


@njit(cache=True, _nrt=False)
def _try_push(S, u, fail_now):
    I = S[0]
    p = I[I[O_U_PART] + u]
    d = _dest_of(S, I[I[O_U_M] + u], p)
    if _put(S, d, p, u):
        I[I[O_U_PART] + u] = -1
        _next(S, u, fail_now)
    else:
        I[I[O_U_ACT] + u] = BLOCKED
        I[I[O_U_DEST] + u] = d
        _show(S, u)
        if fail_now:
            _fail_due_cycles(S, u)
        elif I[I[O_U_NST] + u] > 0:
            _settle(S, u)


@njit(cache=True, _nrt=False)
def _processing_done(S, u):
    I, F, PI = S[0], S[1], S[6]
    I[I[O_U_PEND] + u] = -1
    p = I[I[O_U_PART] + u]
    m = I[I[O_U_M] + u]
    if I[I[O_U_HASPROC] + u]:
        _proc_pause(S, u)
    out = GOOD
    qs = I[I[O_M_QS] + m]
    if qs >= 0:
        x = _draw(S, qs)
        scrap = F[I[O_M_SCRAP] + m]
        if x < scrap:
            out = SCRAP
        elif x < scrap + F[I[O_M_REW] + m]:
            out = REWORK
    _log_op(S, u, p, out)
    cnt = I[O_M_CNT] + 3 * m
    I[cnt] += 1
    noset = I[I[O_M_NOSET] + m]
    if not noset:
        I[I[O_U_LAST] + u] = PI[p, 0]
    fail_now = _cycle_done(S, u) if I[I[O_U_HASCYC] + u] else False
    if out == GOOD:
        I[cnt + 1] += 1
        PI[p, 1] += 1
        if fail_now:
            _try_push(S, u, True)
            return
        d = _dest_of(S, m, p)
        if _put(S, d, p, u):
            I[I[O_U_PART] + u] = -1
            i0 = I[I[O_M_IN0] + m]
            if I[I[O_M_IN1] + m] - i0 == 1 and I[I[O_U_NST] + u] == 0:
                place = I[I[O_IN_LIST] + i0]
                nxt = _get(S, place)
                if I[I_SQN] > 0 and I[I_DRAIN] == 0:
                    _drain(S)
                if nxt < 0:
                    _wait(S, place, u)
                    I[I[O_U_ACT] + u] = STARVED
                    _show(S, u)
                elif noset:
                    I[I[O_U_PART] + u] = nxt
                    _start_processing(S, u)
                else:
                    _begin(S, u, nxt)
            else:
                _try_start_top(S, u)
        else:
            I[I[O_U_ACT] + u] = BLOCKED
            I[I[O_U_DEST] + u] = d
            if not (I[I[O_U_NST] + u] > 0 and _settle(S, u)):
                _show(S, u)
        return
    I[cnt + 2] += 1
    I[I[O_U_PART] + u] = -1
    if out == SCRAP:
        _log_part(S, p, SCRAPPED)
        I[I_SCRAPPED] += 1
        I[I_WIP] -= 1
    else:
        _force_put(S, I[I[O_M_RWB] + m], p)
    _next(S, u, fail_now)


# ---- start and run ------------------------------------------------------------------------------
@njit(cache=True, _nrt=False)
def _set_stop(S, k):
    I = S[0]
    code = I[I[O_CAL_CODE] + k]
    delta = I[I[O_CAL_DELTA] + k]
    sl = I[O_CAL_SL]
    for i in range(I[I[O_CAL_S0] + k], I[I[O_CAL_S1] + k]):
        m = I[sl + i]
        for u in range(I[I[O_M_U0] + m], I[I[O_M_U1] + m]):
            if delta > 0:
                _add_stop(S, u, code)
            else:
                _remove_stop(S, u, code)


@njit(cache=True, _nrt=False)
def start(S):
    """What ``Run._start`` does: calendar stops in force at 0 and the schedule of the others, the
    stations' start (failure clocks, first parts), the sources' start."""
    I, F = S[0], S[1]
    ct = I[O_CAL_T]
    for k in range(I[I_NCAL]):
        if F[ct + k] <= 0.0:
            _set_stop(S, k)
        else:
            _at(S, F[ct + k], EV_CAL, k, 0)
    cb, cba = I[O_C_BUDGET], I[O_C_BASIS]
    for m in range(I[I_NM]):
        for u in range(I[I[O_M_U0] + m], I[I[O_M_U1] + m]):
            susp = I[I[O_U_SUSP] + u]
            for c in range(I[I[O_U_C0] + u], I[I[O_U_C1] + u]):
                b = I[cba + c]
                if b == CAL or (b == OPER and not susp):
                    _arm(S, c, F[cb + c])
            if susp:
                _show(S, u)
            else:
                _try_start_top(S, u)
    for s in range(I[I_NS]):
        if I[I[O_S_KIND] + s] == 1:
            _at(S, _draw(S, I[I[O_S_IAS] + s]), EV_ARRIVAL, s, 0)
    ot = I[O_O_T]
    for k in range(I[I_NORD]):
        _at(S, F[ot + k], EV_ORDER, k, 0)


@njit(cache=True, _nrt=False)
def run(S, until):
    """Process events before ``until``; returns 0 when done (clock at ``until``), 1 when a
    buffer, log or table needs Python (refill or grow) before the next event."""
    I, F, HT, HI = S[0], S[1], S[2], S[3]
    pend, cpend, act = I[O_U_PEND], I[O_C_PEND], I[O_U_ACT]
    while I[I_NH] > 0 and HT[0] < until:
        if I[I_FLAG]:
            return 1
        t, eid, kind, a, b = HT[0], HI[0, 0], HI[0, 1], HI[0, 2], HI[0, 3]
        _pop(S)
        F[F_NOW] = t
        I[I_EVENTS] += 1
        if kind == EV_DONE:
            if eid == I[pend + a]:
                if I[act + a] == SETUP:
                    I[pend + a] = -1
                    _start_processing(S, a)
                else:
                    _processing_done(S, a)
        elif kind == EV_CLOCK:
            if eid == I[cpend + b]:
                I[cpend + b] = -1
                _fail(S, b)
        elif kind == EV_REPAIR:
            _repaired(S, b)
        elif kind == EV_CAL:
            _set_stop(S, a)
        elif kind == EV_ARRIVAL:
            _arrive(S, a)
        elif kind == EV_ORDER:
            _order(S, a)
    F[F_NOW] = until
    return 0
