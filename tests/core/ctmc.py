"""Exact throughput of a serial line with finite buffers, blocking after service and
(optionally) unreliable machines, from the continuous-time Markov chain solved here.

The chain encodes the twin's documented semantics (processes/machine.py, processes/buffer.py):
the first machine is never starved (saturated source), the last never blocked; a machine that
finishes a part hands it to a starved downstream machine, else queues it if the buffer has
room, else holds it (blocked); a starved machine takes from its buffer, which lets a blocked
upstream machine hand its part over. Failures: an up machine fails at rate p whatever it does
(calendar basis; time between failures counts from the end of the repair); a down machine
neither takes nor hands over parts; repair at rate r; interrupted work resumes (memoryless).
"""

from __future__ import annotations

import itertools

import numpy as np

S, W, B = 0, 1, 2  # starved (empty), working, blocked (holding a finished part)


def _settle(status, up, buf, n):
    status, buf = list(status), list(buf)
    changed = True
    while changed:
        changed = False
        for i in range(n):
            if not up[i]:
                continue
            if status[i] == B:  # try to hand over
                if i == n - 1:
                    status[i] = S
                    changed = True
                elif status[i + 1] == S and up[i + 1] and buf[i] == 0:
                    status[i + 1] = W
                    status[i] = S
                    changed = True
                elif buf[i] < CAP[i]:
                    buf[i] += 1
                    status[i] = S
                    changed = True
            if status[i] == S:
                if i == 0:
                    status[i] = W
                    changed = True
                elif buf[i - 1] > 0:
                    buf[i - 1] -= 1
                    status[i] = W
                    changed = True
                elif status[i - 1] == B and up[i - 1]:
                    status[i - 1] = S
                    status[i] = W
                    changed = True
    return tuple(status), tuple(buf)


CAP: list[int] = []


def line_throughput(mu, caps, fail=None, repair=None) -> float:
    """Exact long-run throughput [parts per unit time] of the line."""
    n = len(mu)
    fail = fail or [0.0] * n
    repair = repair or [1.0] * n
    CAP[:] = list(caps)
    states = {}
    ups = list(itertools.product([0, 1], repeat=n)) if any(fail) else [tuple([1] * n)]
    for st in itertools.product([S, W, B], repeat=n):
        for up in ups:
            for buf in itertools.product(*[range(c + 1) for c in caps]):
                s2, b2 = _settle(st, up, buf, n)
                if (s2, up, b2) == (st, up, buf):
                    states.setdefault((st, up, buf), len(states))
    idx = states
    Q = np.zeros((len(idx), len(idx)))

    def add(frm, status, up, buf, rate):
        s2, b2 = _settle(status, up, buf, n)
        to = idx[(s2, tuple(up), b2)]
        Q[frm, to] += rate

    for (st, up, buf), k in idx.items():
        for i in range(n):
            if up[i] and st[i] == W:
                s = list(st)
                s[i] = B
                add(k, s, up, buf, mu[i])
            if fail[i] and up[i]:
                u = list(up)
                u[i] = 0
                add(k, st, u, buf, fail[i])
            if not up[i]:
                u = list(up)
                u[i] = 1
                add(k, st, u, buf, repair[i])
    np.fill_diagonal(Q, 0.0)
    np.fill_diagonal(Q, -Q.sum(axis=1))
    A = np.vstack([Q.T, np.ones(len(idx))])
    b = np.zeros(len(idx) + 1)
    b[-1] = 1.0
    pi, *_ = np.linalg.lstsq(A, b, rcond=None)
    thr = 0.0
    for (st, up, buf), k in idx.items():
        if up[-1] and st[-1] == W:
            thr += pi[k] * mu[-1]
    return float(thr)
