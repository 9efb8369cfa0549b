"""Eager start of a coroutine: run it on the caller's stack until it first waits.

A lockstep step that fits its inline budget (:data:`twin.api.sessions.INLINE_S`) never waits
for anything, yet wrapping it in a task (to watch the client while it runs) costs a task, a
``wait`` and two turns of the event loop per request, about as much as the step. :func:`start`
runs the coroutine at once: when it finishes without waiting, its result is there with no task;
when it waits, what is left is an awaitable that a task (or the caller) awaits as it would the
coroutine, so a long step is still watched and cancelled as before. (Python 3.12's
``asyncio.eager_task_factory`` does the same for tasks; the project runs on 3.11.)
"""

from __future__ import annotations

from typing import Any, Awaitable, Coroutine


class _Rest:
    """The rest of a started coroutine: awaiting it passes on what the coroutine waits for, and
    the sent values, thrown exceptions (cancellation) and its result, as ``await coro`` would."""

    __slots__ = ("_coro", "_first", "_used")

    def __init__(self, coro: Coroutine, first: Any):
        self._coro = coro
        self._first = first
        self._used = False

    def __await__(self):
        if self._used:
            raise RuntimeError("the rest of an eagerly started coroutine can be awaited only once")
        self._used = True
        coro, waiting = self._coro, self._first
        while True:
            try:
                sent = yield waiting
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # cancellation (or any exception thrown in by the awaiting task)
                try:
                    waiting = coro.throw(exc)
                except StopIteration as done:
                    return done.value
            else:
                try:
                    waiting = coro.send(sent)
                except StopIteration as done:
                    return done.value

    def close(self) -> None:
        """Abandon it (runs the coroutine's ``finally`` blocks); only if it will not be awaited."""
        self._coro.close()


def start(coro: Coroutine) -> tuple[bool, Any | Awaitable]:
    """``(True, result)`` if ``coro`` finished without waiting, else ``(False, rest)``: await
    ``rest`` (once) for the result. An exception raised before the first wait propagates here."""
    try:
        first = coro.send(None)
    except StopIteration as done:
        return True, done.value
    return False, _Rest(coro, first)
