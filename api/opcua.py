"""OPC UA endpoint (asyncua) for a lockstep session, in the style of OPC 40001 / 40501.

Address space (namespace ``urn:twin``): ``Objects/Plant`` with ``SimTime`` and the method
``Step(dt) -> SimTime`` (an external controller advances time deterministically); one object per
station under ``Objects/Machines`` with ``ItemState``, ``OperationMode``, ``Execution``,
``Stacklight``, ``FeedOverride`` (writable), ``PartsCompleted``, ``PartsGood``, ``PartsBad``,
``Power``, ``SpindleSpeed`` and ``SpindleLoad`` (machining stations); one per buffer under
``Objects/Buffers`` with ``Level`` and ``Capacity``. A client's write to ``FeedOverride`` goes
through the same command layer as HTTP (validated, logged with source ``opcua``; a rejected
value is reverted). Values refresh after every step.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

STACKLIGHT = {"ACTIVE": "green", "WAIT": "yellow", "FEED_HOLD": "yellow", "INTERRUPTED": "red", "STOPPED": "grey"}
MACHINE_VARS = [("ItemState", "item_state", ""), ("OperationMode", "operation_mode", ""), ("Execution", "execution", ""),
                ("PartsCompleted", "part_count_all", 0), ("PartsGood", "part_count_good", 0), ("PartsBad", "part_count_bad", 0),
                ("Power", "power_W", 0.0), ("SpindleSpeed", "spindle_speed_rpm", 0.0), ("SpindleLoad", "spindle_load_pct", 0.0)]
# condition-monitoring channels, only on stations that publish them (machining stations)
CONDITION_VARS = [("VibrationRMS", "vibration_rms", 0.0), ("ToolWear", "tool_wear_max", 0.0), ("ToolVB", "tool_vb_mm", 0.0)]


_FLOAT_TAGS = {t for _, t, d in MACHINE_VARS + CONDITION_VARS if isinstance(d, float)}


class OpcUaTwin:
    def __init__(self, session, endpoint: str):
        self.session = session
        self.endpoint = endpoint
        self.server = None
        self.nodes: dict[str, object] = {}
        self.feed_nodes: dict = {}
        self._writing = False

    async def start(self) -> None:
        from asyncua import Server, ua

        run = self.session.run
        s = Server()
        await s.init()
        s.set_endpoint(self.endpoint)
        s.set_server_name("twin digital twin")
        s.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        idx = await s.register_namespace("urn:twin")
        objects = s.nodes.objects
        plant = await objects.add_object(idx, "Plant")
        self.nodes["plant.sim_time"] = await plant.add_variable(idx, "SimTime", float(run.now))
        self.nodes["plant.parts_completed"] = await plant.add_variable(idx, "PartsCompleted", int(run.sink.completed))
        self.nodes["plant.wip"] = await plant.add_variable(idx, "WIP", int(run.wip))

        async def step(parent, dt):
            await asyncio.to_thread(self._step, float(dt.Value if hasattr(dt, "Value") else dt))
            await self.refresh()
            return [ua.Variant(float(run.now), ua.VariantType.Double)]

        await plant.add_method(idx, "Step", step, [ua.VariantType.Double], [ua.VariantType.Double])
        machines = await objects.add_object(idx, "Machines")
        tags = run.tags()
        for name in run.stations:
            obj = await machines.add_object(idx, name)
            for browse, tag, default in MACHINE_VARS:
                v = tags.get(f"{name}.{tag}", default)
                self.nodes[f"{name}.{tag}"] = await obj.add_variable(idx, browse, v if v is not None else default)
            for browse, tag, default in CONDITION_VARS:
                if f"{name}.{tag}" in tags:
                    self.nodes[f"{name}.{tag}"] = await obj.add_variable(idx, browse, float(tags[f"{name}.{tag}"]))
            self.nodes[f"{name}.stacklight"] = await obj.add_variable(idx, "Stacklight", STACKLIGHT.get(tags[f"{name}.execution"], "grey"))
            fo = await obj.add_variable(idx, "FeedOverride", float(tags.get(f"{name}.feed_override", 1.0)))
            await fo.set_writable()
            self.nodes[f"{name}.feed_override"] = fo
            self.feed_nodes[fo.nodeid] = name
        buffers = await objects.add_object(idx, "Buffers")
        for name in run.buffers:
            obj = await buffers.add_object(idx, name)
            self.nodes[f"{name}.level"] = await obj.add_variable(idx, "Level", int(tags.get(f"{name}.level", 0)))
            cap = tags.get(f"{name}.capacity")
            self.nodes[f"{name}.capacity"] = await obj.add_variable(idx, "Capacity", -1 if cap is None else int(cap))
        from asyncua.common.callback import CallbackType

        s.iserver.subscribe_server_callback(CallbackType.PostWrite, self._on_write)
        await s.start()
        self.server = s

    def _step(self, dt: float) -> None:
        with self.session.lock:
            self.session.run.step(dt)

    async def refresh(self) -> None:
        tags = self.session.run.observed_tags()
        self._writing = True
        try:
            for key, node in self.nodes.items():
                if key.endswith(".stacklight"):
                    v = STACKLIGHT.get(tags.get(key[:-11] + ".execution"), "grey")
                elif key.endswith(".capacity"):
                    v = -1 if tags.get(key) is None else int(tags[key])
                else:
                    v = tags.get(key)
                    if v is None:
                        continue
                    if isinstance(v, (int,)) and not isinstance(v, bool) and key.rsplit(".", 1)[-1] in _FLOAT_TAGS:
                        v = float(v)
                await node.write_value(v)
        finally:
            self._writing = False

    def _on_write(self, event, dispatcher) -> None:
        if self._writing:
            return
        from twin.commands import CommandError, apply_command

        for rv, wv in zip(event.response_params, event.request_params.NodesToWrite):
            name = self.feed_nodes.get(wv.NodeId)
            if name is None or not rv.is_good():
                continue
            value = wv.Value.Value.Value
            try:
                with self.session.lock:
                    apply_command(self.session.run, {"command": "feed_override", "target": name, "value": value, "source": "opcua"})
            except CommandError:
                asyncio.get_event_loop().create_task(self._revert(name))

    async def _revert(self, name: str) -> None:
        self._writing = True
        try:
            await self.nodes[f"{name}.feed_override"].write_value(float(self.session.run.stations[name].feed_override))
        finally:
            self._writing = False

    async def stop(self) -> None:
        if self.server is not None:
            await self.server.stop()


def attach_opcua(app, endpoint: str, scenario_path: str | None = None, seed: int | None = None) -> None:
    """Create a lockstep session on ``app`` and serve it over OPC UA at ``endpoint`` (started and
    stopped with the app). The session id is ``app.state.opcua_session``."""
    import twin
    from twin.scenario import load

    from .app import Session

    path = Path(scenario_path) if scenario_path else Path(twin.__file__).resolve().parent.parent / "examples" / "shaft_line.yaml"
    sc = load(path)
    sid = str(uuid.uuid4())
    session = Session(sid, twin.Run(sc, seed=seed))
    session.last_used = float("inf")  # the OPC UA session never times out
    app.state.sessions[sid] = session
    app.state.opcua_session = sid
    ua_twin = OpcUaTwin(session, endpoint)
    app.state.opcua = ua_twin

    @app.on_event("startup")
    async def _start_ua():
        await ua_twin.start()

    @app.on_event("shutdown")
    async def _stop_ua():
        await ua_twin.stop()
