"""Lockstep latency (issue 17): a short step is done on the event loop (no step thread, no task),
with the same replies, event logs and journals as a step done in the step threads; a long step
still goes to the threads and leaves the loop free; a zero-time loop reaches the stall watchdog;
OPC UA Step rewrites only the values that changed."""

import asyncio
import datetime
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

import twin
from twin.api import eager, sessions
from twin.api.sessions import Session, StepError

from conftest_helpers import LINE, LiveServer, free_port

# the test line with signal non-idealities: reading the tags draws noise and feeds a delay history
# (journalled for replay), so the tags of each reply must be read at the same points on every path
NOISY = dict(LINE, signals={"AB.level": {"delay": "100 s"}, "A.power_W": {"noise": 50.0}, "plant.wip": {"dropout": 0.3}})


class NoThreads(ThreadPoolExecutor):
    """A step-thread pool that must not be used."""

    def submit(self, *a, **k):
        raise AssertionError("a step thread was used")


def _play(mode: str, monkeypatch, scenario=NOISY) -> tuple[list, bytes, str]:
    """Replies (without wall_ms), checkpoint and event-log hash of a fixed sequence of steps and
    commands; ``mode``: inline (default budget), handoff (budget 0: one event inline, the rest in a
    step thread holding the run lock), threads (no inline part at all, as before issue 17)."""
    from twin.live.checkpoint import checkpoint

    with monkeypatch.context() as m:
        if mode == "handoff":
            m.setattr(sessions, "INLINE_S", 0.0)
        elif mode == "threads":
            m.setattr(Session, "_inline", lambda self, target: sessions._TAKEN)
            m.setattr(Session, "_tags_now", lambda self: None)
        s = Session("x", twin.Run(twin.parse_scenario(scenario)))
        replies = []
        with ThreadPoolExecutor(2) as pool:
            async def go():
                replies.append(await s.step(pool, until=500.0, client="a"))
                for k in range(40):
                    replies.append(await s.step(pool, dt=37.0, client="a" if k % 3 else "b"))
                    if k == 10:
                        replies.append(await s.apply(pool, {"command": "hold", "target": "A", "source": "t"}))
                    if k == 20:
                        replies.append(await s.apply(pool, {"command": "release", "target": "A", "source": "t"}))
                replies.append(await s.step(pool, event=True, client="a"))
                replies.append(await s.step(pool, dt=5000.0, client="a"))
            asyncio.run(go())
            for r in replies:
                r.pop("wall_ms", None)
            return replies, checkpoint(s.run), s.run.result().event_log_hash()


def test_inline_handoff_and_threaded_steps_give_identical_replies_logs_and_journals(monkeypatch):
    inline = _play("inline", monkeypatch)
    assert len(inline[0]) == 45 and inline[0][-1]["sim_time"] > 2000
    assert any(r.get("changed") for r in inline[0][1:])
    for mode in ("handoff", "threads"):
        other = _play(mode, monkeypatch)
        assert json.dumps(other[0], sort_keys=True) == json.dumps(inline[0], sort_keys=True), mode
        assert other[1] == inline[1], mode  # checkpoint bytes: journal of outside reads and commands, state digest
        assert other[2] == inline[2], mode  # event logs, byte for byte


def test_short_step_is_done_on_the_loop_without_a_step_thread():
    """The round trip a controller pays thousands of times: a one-minute step of a line took two
    hand-offs to a step thread and back (advance, then the tags), more than the step itself."""
    s = Session("x", twin.Run(twin.parse_scenario(LINE)))
    ref = twin.Run(twin.parse_scenario(LINE))
    pool = NoThreads(1)

    async def go():
        out = []
        for _ in range(20):
            out.append(await s.step(pool, dt=60.0, client="c"))
        return out

    replies = asyncio.run(go())
    ref.run_until(1200.0)
    assert [r["sim_time"] for r in replies] == [60.0 * (k + 1) for k in range(20)]
    assert s.run.result().event_log_hash() == ref.result().event_log_hash()
    pool.shutdown()


def test_long_http_step_goes_to_the_step_threads_and_the_loop_stays_free(live):
    with live() as srv, httpx.Client(base_url=srv.url, timeout=60) as c:
        sid = c.post("/v1/sessions", json={"scenario": dict(LINE, horizon=30_000_000)}).json()["id"]

        async def go():
            async with httpx.AsyncClient(base_url=srv.url, timeout=120) as ac:
                step = asyncio.create_task(ac.post(f"/v1/sessions/{sid}/step", json={"until": 4_000_000}))
                await asyncio.sleep(0.3)
                t = time.perf_counter()
                health = await ac.get("/v1/health")
                answered = time.perf_counter() - t
                assert health.status_code == 200 and not step.done()  # answered while the step ran
                r = await step
                return answered, r.json()

        answered, rep = asyncio.run(go())
        assert answered < 1.0
        assert rep["sim_time"] == 4_000_000 and rep["wall_ms"] > 300  # many chunks, none on the loop for long


def test_http_step_stops_when_its_client_leaves(live):
    with live() as srv, httpx.Client(base_url=srv.url, timeout=60) as c:
        sid = c.post("/v1/sessions", json={"scenario": dict(LINE, horizon=30_000_000)}).json()["id"]
        with pytest.raises(httpx.TimeoutException):
            httpx.post(srv.url + f"/v1/sessions/{sid}/step", json={"until": 30_000_000}, timeout=0.5)
        time.sleep(1.0)  # the disconnect is seen within 0.25 s, the step stops at its next chunk
        t1 = c.get(f"/v1/sessions/{sid}").json()["sim_time"]
        time.sleep(0.5)
        t2 = c.get(f"/v1/sessions/{sid}").json()["sim_time"]
        assert 0 < t1 == t2 < 30_000_000  # stopped, not at the end
        assert c.post(f"/v1/sessions/{sid}/step", json={"dt": 10}).json()["sim_time"] == pytest.approx(t1 + 10)


def test_pipelined_websocket_messages_are_answered_in_order(live):
    """Steps done by the reader (nothing in progress) and steps queued behind a long one answer
    in the order they were sent, each from where the previous one left the plant."""
    import websockets

    with live() as srv, httpx.Client(base_url=srv.url, timeout=30) as c:
        sid = c.post("/v1/sessions", json={"scenario": dict(LINE, horizon=30_000_000)}).json()["id"]

        async def go():
            async with websockets.connect(srv.url.replace("http", "ws") + f"/v1/sessions/{sid}/ws") as ws:
                await ws.recv()
                msgs = [{"dt": 60}, {"until": 2_000_000}, {"dt": 60}, {"bogus": 1}, {"dt": 60}, {"command": "hold", "target": "A"}, {"dt": 60}]
                for m in msgs:
                    await ws.send(json.dumps(m))
                return [json.loads(await asyncio.wait_for(ws.recv(), 60)) for _ in msgs]

        out = asyncio.run(go())
        assert out[1]["error"] == "invalid message"  # answered by the reader at once, while the long step runs
        rest = out[:1] + out[2:]
        assert [r.get("sim_time") for r in rest] == [60, 2_000_000, 2_000_060, 2_000_120, None, 2_000_180]
        assert rest[4]["accepted"] is True


class _ZenoClock:
    """A clock whose events all happen at t = 5 s, forever (a loop of zero-duration events)."""

    def __init__(self):
        self.now = 0.0
        self.events = 0

    def peek(self):
        return 5.0

    def step(self):
        self.now = 5.0
        self.events += 1
        time.sleep(1e-5)


class _ZenoRun:
    horizon = 100.0
    finished = False

    def __init__(self):
        self.clock = _ZenoClock()
        self._advancing = False
        self.scenario = type("Sc", (), {"signals": {}})()

    @property
    def now(self):
        return self.clock.now

    def run_until(self, t, deadline=None):  # (Run.run_until's contract)
        while True:  # the engine's loop never reaches t
            self.clock.step()
            if deadline is not None and time.perf_counter() > deadline:
                return False

    def observed_tags(self):
        return {}


def test_zero_time_loop_leaves_the_loop_after_the_inline_budget_and_meets_the_stall_watchdog():
    s = Session("z", _ZenoRun())
    stop = threading.Event()

    def watchdog():
        while not stop.wait(0.05):
            s.interrupt_if_stalled(0.5)

    dog = threading.Thread(target=watchdog, daemon=True)
    dog.start()
    with ThreadPoolExecutor(1) as pool:
        async def go():
            ticks = 0

            async def ticker():
                nonlocal ticks
                while True:
                    await asyncio.sleep(0.01)
                    ticks += 1

            tick = asyncio.create_task(ticker())
            with pytest.raises(StepError) as e:
                await s.step(pool, dt=10.0, client="c")
            tick.cancel()
            return ticks, e.value

        ticks, err = asyncio.run(go())
    stop.set()
    assert err.path == "session" and "no progress" in str(err) and s.closed
    assert ticks >= 20  # the loop ran all the while (0.5 s of stall before the watchdog)
    assert not s.lock.locked()  # the step thread let go of the run


def test_eager_start_finishes_or_hands_over_the_rest():
    async def quick():
        return 7

    async def slow(log):
        try:
            await asyncio.sleep(0.01)
            return 8
        finally:
            log.append("cleaned")

    async def bad():
        raise KeyError("x")

    async def go():
        assert eager.start(quick()) == (True, 7)
        log = []
        done, rest = eager.start(slow(log))
        assert not done and await rest == 8 and log == ["cleaned"]
        done, rest = eager.start(slow(log))
        task = asyncio.ensure_future(rest)
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert log == ["cleaned", "cleaned"]  # cancellation reached the coroutine
        with pytest.raises(KeyError):
            eager.start(bad())

    asyncio.run(go())


def test_opcua_step_rewrites_only_changed_values(tmp_path):
    """A Step rewrote every plant value (stamped with the new sim time) whether or not it changed;
    now a value keeps the SourceTimestamp of its last change, as the Machinery values do, and the
    values are those of a reference run."""
    from asyncua import Client, ua

    from twin.api.app import create_app
    from twin.api.opcua import attach_opcua
    from twin.api.opcua_machinery import sim_epoch

    endpoint = f"opc.tcp://127.0.0.1:{free_port()}/twin/"
    app = create_app(db=str(tmp_path / "ua.db"))
    attach_opcua(app, endpoint, "examples/shaft_line.yaml")
    ref = twin.Run(twin.load("examples/shaft_line.yaml"))
    epoch = sim_epoch(ref.scenario)
    with LiveServer(app):
        async def go():
            async with Client(endpoint) as c:
                idx = await c.get_namespace_index("urn:twin")
                plant = await c.nodes.objects.get_child(f"{idx}:Plant")
                horizon = await plant.get_child(f"{idx}:Horizon")
                sim = await plant.get_child(f"{idx}:SimTime")
                done = await plant.get_child(f"{idx}:PartsCompleted")
                await plant.call_method(f"{idx}:Step", ua.Variant(7 * 3600.0, ua.VariantType.Double))
                first = await horizon.read_data_value()
                for t in (60.0, 60.0):
                    await plant.call_method(f"{idx}:Step", ua.Variant(t, ua.VariantType.Double))
                return first, await horizon.read_data_value(), await sim.read_data_value(), await done.read_data_value()

        t0 = time.time()
        first, hz, st, dn = asyncio.run(go())
    ref.run_until(7 * 3600.0 + 120.0)
    assert hz.Value.Value == ref.horizon and hz.SourceTimestamp == first.SourceTimestamp  # unchanged: not rewritten
    assert first.SourceTimestamp.replace(tzinfo=epoch.tzinfo) == epoch + datetime.timedelta(seconds=7 * 3600.0)
    assert st.Value.Value == ref.now and st.SourceTimestamp.replace(tzinfo=epoch.tzinfo) == epoch + datetime.timedelta(seconds=ref.now)
    assert dn.Value.Value == ref.tags()["plant.parts_completed"] > 0
    # ServerTimestamp stays the server's wall clock, as it was before (asyncua forced it on every write;
    # docs/api.md says simulated time: left for a decision, see the lockstep report)
    assert abs(st.ServerTimestamp.timestamp() - t0) < 120
