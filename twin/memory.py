"""glibc malloc settings for a process that runs simulations.

A run of the 10-station benchmark line writes about 7 M log rows and computes its KPIs with
numpy temporaries of tens of MB each. With glibc's defaults every such temporary is a fresh
``mmap`` that is unmapped again when it is freed, so the next one faults its pages in anew:
on this project's 2-core VM a fresh page costs about 2.5 ms per MB, and the first KPI pass over
a 200k-part run spent a third of its time there (0.72-0.78 s against 0.51-0.55 s with the
settings below; the whole run + KPIs process 0.2-0.4 s less, measured with
``MALLOC_MMAP_THRESHOLD_``/``MALLOC_TRIM_THRESHOLD_``, which set the same values).

:func:`keep_freed_memory` serves blocks up to 32 MiB from the heap and returns the heap's free
top to the system only beyond 128 MiB, so freed temporaries are reused. It runs once per process,
when the first run of the process is built (``Run``: the CLI, ``twin.simulate``, sweep workers
and the server's sessions and workers all build one). (The server also caps malloc's arenas:
:func:`limit_malloc_arenas`.) It
changes no result, only where memory comes from; a process whose environment sets glibc's own
``MALLOC_MMAP_THRESHOLD_``, ``MALLOC_TRIM_THRESHOLD_`` or ``MALLOC_TOP_PAD_`` is left as it
is (that is how to choose otherwise). No effect off glibc.
"""

from __future__ import annotations

import os

__all__ = ["keep_freed_memory", "limit_malloc_arenas"]

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_ARENA_MAX = -1, -3, -8
MMAP_THRESHOLD = 32 << 20  # glibc's maximum on 64-bit
TRIM_THRESHOLD = 128 << 20
_USER_SET = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_")
_done: bool | None = None


def _mallopt(param: int, value: int) -> bool:
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(param, int(value)))
    except (OSError, AttributeError):
        return False


def keep_freed_memory() -> bool:
    """Keep freed blocks for reuse (see the module docstring). True when the settings are in
    force (set now or by an earlier call); False off glibc or when the environment chose."""
    global _done
    if _done is None:
        if any(k in os.environ for k in _USER_SET):
            _done = False
        else:
            _done = _mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and _mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    return _done


def limit_malloc_arenas(n: int = 2) -> bool:
    """Cap glibc's malloc arenas at ``n`` (``mallopt(M_ARENA_MAX)``). A server answers from many
    threads (the request thread pool, the step threads); glibc gives each thread that contends
    its own arena and rarely hands their free pages back, so the server's RSS crept up by tens of
    MB per minute under load while the Python heap stayed flat (measured with the load test:
    server RSS 161 -> 269 MB in 150 s with default arenas, 161 -> 211 MB and flat with 2).
    Forked workers inherit the setting. No effect (False) off glibc."""
    return _mallopt(M_ARENA_MAX, n)
