"""The OPC UA server speaks OPC 40001-1 Machinery and OPC 40501-1 Machine Tools (issue 14).

Reference values come from an independent run of the same scenario and seed (``twin.Run``), from
the official NodeSet2 files (node-opcua with ``node-opcua-nodesets``: the mandatory components
are derived from them, not from our code) and from the published NodeIds.
"""

import asyncio
import datetime
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

PHYSICS = "examples/shaft_line_physics.yaml"
MACHINERY = "http://opcfoundation.org/UA/Machinery/"
MT = "http://opcfoundation.org/UA/MachineTool/"
UTC = datetime.timezone.utc
EPOCH = datetime.datetime(2024, 1, 1, tzinfo=UTC)  # the shaft line's calendar starts 'mon 00:00' (undated)
NODE_MODULES = os.environ.get("TWIN_NODE_MODULES")


def _reference(scenario=PHYSICS):
    import twin
    from twin.scenario import load

    return twin.Run(load(scenario))


def _first_failure(station: str):
    """(start, end) [s] of the first failure of ``station`` in an independent run (state log)."""
    from twin.states import Code

    run = _reference()
    run.run_until(4 * 24 * 3600.0)
    sl, res = run.state_log, run.resources
    start = None
    for t, r, code, _part in sl.rows():
        if res[r][1] != station:
            continue
        if start is None and code == Code.FAILURE:
            start = t
        elif start is not None and code != Code.FAILURE:
            return start, t
    raise AssertionError(f"{station} never fails in four days")


def _machining_stations(path=PHYSICS) -> set[str]:
    """Stations of the scenario file whose kind cuts metal (read from the file itself)."""
    doc = yaml.safe_load(Path(path).read_text())
    return {n for n, s in doc["stations"].items() if (s or {}).get("kind") in ("cnc_lathe", "cnc_mill", "drill")}


@pytest.fixture(scope="module")
def physics(tmp_path_factory):
    """An HTTP app with OPC UA on the physics shaft line (open endpoint); tests Reset it first."""
    from twin.api.app import create_app
    from twin.api.opcua import attach_opcua

    from conftest_helpers import LiveServer, free_port  # noqa

    tmp = tmp_path_factory.mktemp("uam")
    endpoint = f"opc.tcp://127.0.0.1:{free_port()}/twin/"
    app = create_app(db=str(tmp / "ua.db"))
    attach_opcua(app, endpoint, PHYSICS)
    with LiveServer(app) as srv:
        yield {"endpoint": endpoint, "app": app, "url": srv.url}


async def _plant(c):
    from asyncua import ua

    idx = await c.get_namespace_index("urn:twin")
    plant = await c.nodes.objects.get_child(f"{idx}:Plant")

    async def step(dt):
        return await plant.call_method(f"{idx}:Step", ua.Variant(float(dt), ua.VariantType.Double))

    await plant.call_method(f"{idx}:Reset")
    return idx, step


# ---- the independent client: node-opcua with the official NodeSet2 files -----------------------------
def _node_ready() -> bool:
    return bool(shutil.which("node") and NODE_MODULES and all(
        Path(NODE_MODULES, m).is_dir() for m in ("node-opcua-client", "node-opcua-address-space", "node-opcua-nodesets")))


@pytest.mark.skipif(not _node_ready(), reason="node-opcua not installed: npm install --prefix DIR node-opcua@2 node-opcua-nodesets@2 "
                                              "and set TWIN_NODE_MODULES=DIR/node_modules (.ci/services.sh does)")
def test_official_nodesets_client_finds_machine_tools_states_and_prognoses(physics):
    """node-opcua loads the official DI, IA, Machinery, ISA-95 job control, Machinery Jobs and
    Machine Tools NodeSet2 files and finds, for every machining station of the physics shaft line,
    a MachineToolType instance with every mandatory component those files declare, state machines
    whose CurrentState is one of the official states and follows the twin (Executing while it
    cuts, OutOfService while it is down), and prognoses of 40501 types predicting the future."""
    from asyncua import Client

    t_fail, t_back = _first_failure("L1")
    t1 = 9 * 3600.0 + 17.0  # early shift, L1 cutting
    t2 = t_fail + 1.0  # L1 down
    times = [0.0, t1, t2]

    async def reset():
        async with Client(physics["endpoint"], timeout=120) as c:
            await _plant(c)
    asyncio.run(reset())
    script = Path(__file__).parent / "node" / "opcua_machinery.js"
    out = subprocess.run(["node", str(script), physics["endpoint"], f"{t1},{t2 - t1}"], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "NODE_PATH": NODE_MODULES, "HOME": str(Path(NODE_MODULES).parent)})
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    assert lines, out.stdout + out.stderr
    got = json.loads(lines[-1])
    assert "error" not in got, got["error"]
    # the mandatory list really comes from the files (40501-1 1.02: 17 browse paths below MachineToolType)
    assert {"Identification/Manufacturer", "Identification/SerialNumber", "Monitoring/MachineTool/OperationMode",
            "Production/ActiveProgram/State/CurrentState/Id", "Equipment", "Notification"} <= set(got["mandatory"])

    stations = set(yaml.safe_load(Path(PHYSICS).read_text())["stations"])
    tools = _machining_stations()
    assert tools == {"L1", "L2", "MILL"}
    ref = _reference()
    for t, rep in zip(times, got["reports"]):
        assert rep["sim_time"] == pytest.approx(t)
        ref.run_until(t)
        tags = ref.tags()
        assert set(rep["machines"]) == stations
        for name, m in rep["machines"].items():
            if name in tools:
                assert m["type"] == [MT, 13] and m["type_name"] == "MachineToolType"
                assert m["missing"] == [], (name, m["missing"])
            else:
                assert m["type"] == ["http://opcfoundation.org/UA/", 58]
            item, mode = m["states"]["MachineryItemState"], m["states"]["MachineryOperationMode"]
            assert item["of"] == "MachineryItemState_StateMachineType" and item["official_state"] == item["text"]
            assert mode["official_state"] == mode["text"]
            assert mode["of"] == ("MachineOperationModeStateMachineType" if name in tools else "MachineryOperationModeStateMachineType")
            assert item["text"] == tags[f"{name}.item_state"], (t, name)  # follows the twin
            assert mode["text"] == tags[f"{name}.operation_mode"], (t, name)
            if name in tools:
                kinds = {p["type"] for p in m["prognoses"]}
                assert {"ToolChangePrognosisType", "MaintenancePrognosisType", "PartLoadPrognosisType", "PartUnloadPrognosisType"} <= kinds
                assert all(p["is_prognosis"] for p in m["prognoses"])
                now = EPOCH + datetime.timedelta(seconds=t)
                changes = [p for p in m["prognoses"] if p["type"] == "ToolChangePrognosisType"]
                assert len(changes) == len(ref.stations[name].tool_life())
                for p in changes:  # every tool change lies in the simulated future
                    assert datetime.datetime.fromisoformat(p["predicted"].replace("Z", "+00:00")) > now
    l1 = [rep["machines"]["L1"]["states"]["MachineryItemState"]["text"] for rep in got["reports"]]
    assert l1 == ["NotAvailable", "Executing", "OutOfService"]  # off shift at Monday 00:00, cutting, down
    unload = [p for p in got["reports"][1]["machines"]["L1"]["prognoses"] if p["type"] == "PartUnloadPrognosisType"][0]
    assert datetime.datetime.fromisoformat(unload["predicted"].replace("Z", "+00:00")) > EPOCH + datetime.timedelta(seconds=t1)


# ---- the same over asyncua -----------------------------------------------------------------------------
def test_machine_tool_instances_types_units_and_sim_timestamps(physics):
    """Types by published NodeId, string NodeIds from station names, AnalogUnitRangeType feed
    override in percent with UNECE units and its range, CurrentState.Id = the official state node,
    tool life from the wear model, SourceTimestamp = simulated time on the calendar."""
    from asyncua import Client, ua

    from twin.api.opcua_machinery import unit_id

    t1 = 9 * 3600.0 + 17.0
    ref = _reference()
    ref.run_until(t1)

    async def go():
        async with Client(physics["endpoint"], timeout=120) as c:
            idx, step = await _plant(c)
            assert await step(t1) == t1
            mt, mach = await c.get_namespace_index(MT), await c.get_namespace_index(MACHINERY)
            folder = c.get_node(ua.NodeId(1001, mach))
            assert (await folder.read_browse_name()) == ua.QualifiedName("Machines", mach)
            assert (await c.nodes.objects.get_child(f"{mach}:Machines")).nodeid == folder.nodeid
            out = {}
            for name in ("SAW", "L1", "L2", "MILL", "HT", "GRIND", "CMM"):
                node = c.get_node(ua.NodeId(f"Machines.{name}", idx))
                out[name] = (await node.read_type_definition())
            assert {n for n, t in out.items() if t == ua.NodeId(13, mt)} == {"L1", "L2", "MILL"}
            assert all(t == ua.NodeId(ua.ObjectIds.BaseObjectType) for n, t in out.items() if n not in ("L1", "L2", "MILL"))

            def n(path):
                return c.get_node(ua.NodeId(f"Machines.L1.{path}", idx))
            # the channel's feed override: AnalogUnitRangeType, percent, 10 .. 200 %
            fo = n("Monitoring.Channel.FeedOverride")
            assert await fo.read_type_definition() == ua.NodeId(ua.ObjectIds.AnalogUnitRangeType)
            eu = await (await fo.get_child("0:EngineeringUnits")).read_value()
            assert eu.UnitId == unit_id("P1") == 20529 and eu.NamespaceUri == "http://www.opcfoundation.org/UA/units/un/cefact"
            rng = await (await fo.get_child("0:EURange")).read_value()
            assert (rng.Low, rng.High) == (10.0, 200.0)
            assert await fo.read_value() == 100.0
            speed = n("Monitoring.Spindle.ActualSpeed")
            assert (await (await speed.get_child("0:EngineeringUnits")).read_value()).UnitId == unit_id("RPM")
            dv = await speed.read_data_value()
            assert dv.Value.Value == pytest.approx(ref.tags()["L1.spindle_speed_rpm"])
            assert dv.SourceTimestamp.replace(tzinfo=UTC) == EPOCH + datetime.timedelta(seconds=t1)  # Monday 09:00:17
            cs = n("Monitoring.MachineTool.MachineryItemState.CurrentState")
            assert (await cs.read_value()).Text == "Executing"
            assert await (await cs.get_child("0:Id")).read_value() == ua.NodeId(5006, mach)  # Machinery's Executing state
            assert (await c.get_node(ua.NodeId(5006, mach)).read_browse_name()).Name == "Executing"
            mode = n("Monitoring.MachineTool.MachineryOperationMode.CurrentState")
            assert await (await mode.get_child("0:Id")).read_value() == ua.NodeId(5060, mt)  # 40501's Processing
            assert await n("Monitoring.MachineTool.OperationMode").read_value() == 1  # MachineOperationMode Automatic
            assert await n("Production.ProductionPlan.Job.PartsCompleted").read_value() == ref.tags()["L1.part_count_all"]
            life = [await n(f"Equipment.Tools.{tl.name}.ToolLife.Used").read_value() for tl in ref.stations["L1"].tool_life()]
            limit = [await n(f"Equipment.Tools.{tl.name}.ToolLife.Used.LimitValue").read_value() for tl in ref.stations["L1"].tool_life()]
            pred = [await n(f"Notification.Prognoses.ToolChange_{tl.name}.PredictedTime").read_value() for tl in ref.stations["L1"].tool_life()]
            return life, limit, pred

    life, limit, pred = asyncio.run(go())
    tl = ref.stations["L1"].tool_life()
    assert life == pytest.approx([x.used for x in tl]) and limit == pytest.approx([x.limit for x in tl])
    assert [p.replace(tzinfo=UTC) for p in pred] == [EPOCH + datetime.timedelta(seconds=x.change_at) for x in tl]
    assert all(0 < x.used < x.limit for x in tl)


def test_feed_override_in_percent_is_checked_and_reaches_the_run(physics):
    """40501's FeedOverride is in percent: 120 % sets the twin's factor to 1.2 through the command
    layer; 250 % is BadOutOfRange, a String BadTypeMismatch; refused writes leave the value."""
    from asyncua import Client, ua

    async def go():
        async with Client(physics["endpoint"], timeout=120) as c:
            idx, step = await _plant(c)
            await step(7 * 3600.0)
            fo = c.get_node(ua.NodeId("Machines.MILL.Monitoring.Channel.FeedOverride", idx))
            await fo.write_value(ua.DataValue(ua.Variant(120.0, ua.VariantType.Double)))
            with pytest.raises(ua.uaerrors.BadOutOfRange):
                await fo.write_value(ua.DataValue(ua.Variant(250.0, ua.VariantType.Double)))
            with pytest.raises(ua.uaerrors.BadTypeMismatch):
                await fo.write_value(ua.DataValue(ua.Variant("fast", ua.VariantType.String)))
            factor = await c.get_node(ua.NodeId("Machines.MILL.FeedOverride", idx)).read_value()
            other = await c.get_node(ua.NodeId("Machines.MILL.Monitoring.MachineTool.FeedOverride", idx)).read_value()
            return await fo.read_value(), factor, other

    pct, factor, other = asyncio.run(go())
    assert pct == pytest.approx(120.0) and factor == pytest.approx(1.2) and other == pytest.approx(120.0)
    sid = physics["app"].state.opcua_session
    run = physics["app"].state.sessions[sid].run
    assert run.stations["MILL"].feed_override == pytest.approx(1.2)
    log = run.command_log.rows
    assert [(r[2], r[3]) for r in log] == [("MILL", "feed_override")]  # only the accepted write reached the run


class _Events:
    """An asyncua subscription handler that keeps the events' fields."""

    def __init__(self):
        self.events = []

    def event_notification(self, ev):
        self.events.append(ev.get_event_props_as_fields_dict())


def test_failure_raises_and_clears_an_alarm_event(physics):
    """A client subscribed to L1's events receives an AlarmConditionType event when L1 goes down
    (Time = the failure's simulated time, ActiveState Active) and one when it is repaired."""
    from asyncua import Client, ua

    t_fail, t_back = _first_failure("L1")

    async def go():
        async with Client(physics["endpoint"], timeout=120) as c:
            idx, step = await _plant(c)
            h = _Events()
            sub = await c.create_subscription(20, h)
            await sub.subscribe_events(c.get_node(ua.NodeId("Machines.L1", idx)), ua.NodeId(ua.ObjectIds.AlarmConditionType))
            hs = _Events()  # the same alarms reach a client watching the Server object
            sub_s = await c.create_subscription(20, hs)
            await sub_s.subscribe_events(c.nodes.server, ua.NodeId(ua.ObjectIds.AlarmConditionType))
            await step(t_fail + 1.0)
            for _ in range(100):
                if h.events:
                    break
                await asyncio.sleep(0.05)
            state = await c.get_node(ua.NodeId("Machines.L1.Monitoring.MachineTool.MachineryItemState.CurrentState", idx)).read_value()
            await step(t_back - t_fail)
            for _ in range(100):
                if len(h.events) >= 2 and len(hs.events) >= 2:
                    break
                await asyncio.sleep(0.05)
            await sub.delete()
            await sub_s.delete()
            return h.events, state, hs.events

    events, state, at_server = asyncio.run(go())
    assert [e["Time"].Value for e in at_server] == [e["Time"].Value for e in events]
    assert state.Text == "OutOfService"
    assert len(events) == 2, events
    down, up = events
    assert down["EventType"].Value == ua_nodeid(2915) and down["SourceName"].Value == "L1"
    assert down["ActiveState/Id"].Value is True and up["ActiveState/Id"].Value is False
    assert down["Time"].Value.replace(tzinfo=UTC) == EPOCH + datetime.timedelta(seconds=t_fail)
    assert up["Time"].Value.replace(tzinfo=UTC) == EPOCH + datetime.timedelta(seconds=t_back)
    assert down["Severity"].Value > up["Severity"].Value


def test_reset_clears_an_active_alarm(physics):
    """Reset while L1 is down: subscribers see the alarm cleared, dated at the new run's start."""
    from asyncua import Client, ua

    t_fail, _ = _first_failure("L1")

    async def go():
        async with Client(physics["endpoint"], timeout=120) as c:
            idx, step = await _plant(c)
            h = _Events()
            sub = await c.create_subscription(20, h)
            await sub.subscribe_events(c.get_node(ua.NodeId("Machines.L1", idx)), ua.NodeId(ua.ObjectIds.AlarmConditionType))
            await step(t_fail + 1.0)
            plant = await c.nodes.objects.get_child(f"{idx}:Plant")
            assert await plant.call_method(f"{idx}:Reset") == 0.0
            for _ in range(100):
                if len(h.events) >= 2:
                    break
                await asyncio.sleep(0.05)
            await sub.delete()
            return h.events

    events = asyncio.run(go())
    assert [e["ActiveState/Id"].Value for e in events] == [True, False]
    assert events[1]["Time"].Value.replace(tzinfo=UTC) == EPOCH


def ua_nodeid(i):
    from asyncua import ua

    return ua.NodeId(i)


# ---- the prognoses against the simulation itself (no server) ---------------------------------------------
def test_tool_change_prognosis_is_the_part_in_which_the_kernel_changes_the_tool():
    """The predicted change of each tool of L1 (and the count-policy KEY tool of MILL) falls at the
    end of the n-th next part; playing the run on, the kernel resets exactly that tool's life at
    the start of part n (life used grows until then), not before."""
    import math

    run = _reference()
    t0 = 9 * 3600.0 + 17.0
    run.run_until(t0)
    checked = 0
    for name in ("L1", "MILL"):
        st = run.stations[name]
        u = st.units[0]
        fo = st.feed_override
        cycle = st.nominal_cycle(st.plans[(u.part.product, u.part.step)]) / fo
        base = u.t_end
        for j, tl in enumerate(st.tool_life()):
            if tl.change_at is None or tl.change_at > t0 + 12 * 3600:
                continue
            n = round((tl.change_at - base - st.spec.tool_replace / fo) / cycle)
            assert math.isclose(base + n * cycle + st.spec.tool_replace / fo, tl.change_at, rel_tol=0, abs_tol=1e-6)
            # play on (a scout run finds the start times of the next parts of unit 1 in the physics
            # record); the kernel charges a part's wear, and replaces a worn tool, at the part's start
            scout = _reference()
            scout.run_until(t0)
            while True:
                scout.run_until(scout.now + 3600.0)
                tab = scout.stations[name].physics_table().to_pydict()
                starts = [t for t, unit in zip(tab["t"], tab["unit"]) if unit == 0 and t > t0]
                if len(starts) >= n:
                    break
            probe = _reference()
            probe.run_until(t0)
            ps = probe.stations[name]
            start_used = float(ps.tool_frac[0, j]) if tl.policy == "wear" else float(ps.tool_parts[0, j])
            seen = []
            for t in starts[:n]:
                probe.run_until(t + 1e-6)
                seen.append(float(ps.tool_frac[0, j]) if tl.policy == "wear" else float(ps.tool_parts[0, j]))
            assert all(v > start_used for v in seen[:-1]), (name, tl.name, seen)  # no change before part n
            assert seen[-1] == 0.0, (name, tl.name, seen)  # replaced in part n
            checked += 1
    assert checked >= 2


def test_maintenance_prognosis_predicts_plans_and_calendar_windows(tmp_path):
    """A calendar plan every 20 h and an operating plan on L1: the outlook names the plan that
    the maintenance log then records first, at the predicted time (calendar basis: exactly); a
    calendar maintenance window of the plant is the MaintenancePrognosis of its stations."""
    from twin.api.opcua_machinery import snapshot
    from twin.scenario import load

    import twin

    doc = yaml.safe_load(Path(PHYSICS).read_text())
    doc["stations"]["L1"]["maintenance"] = [{"name": "pm20", "every": "20 h", "basis": "calendar", "duration": "30 min"},
                                            {"name": "op", "every": "100 h", "duration": "1 h"}]
    doc["calendar"]["maintenance"] = [{"stations": ["MILL"], "at": "30 h", "duration": "2 h"}]
    path = tmp_path / "pm.yaml"
    path.write_text(yaml.safe_dump(doc))
    run = twin.Run(load(path))
    run.run_until(5 * 3600.0)
    due = run.stations["L1"].outlook().maintenance
    assert [name for _, name in due] == ["pm20", "op"]
    assert due[0][0] == pytest.approx(20 * 3600.0)
    assert due[1][0] > 5 * 3600.0  # operating clock: at least the remaining budget ahead
    snap = snapshot(run, 0)
    assert snap["windows"]["MILL"] == [(30 * 3600.0, 32 * 3600.0)]
    run.run_until(21 * 3600.0)
    ml = run.maintenance_log
    first = [(ml.t[i], run.resources[ml.resource[i]][0]) for i in range(len(ml))]
    assert first and first[0] == (pytest.approx(20 * 3600.0), "L1")


def test_sim_epoch_is_the_calendar_start():
    from twin.api.opcua_machinery import EPOCH as E, sim_epoch
    from twin.scenario import load

    sc = load(PHYSICS)
    assert sim_epoch(sc) == E == EPOCH
    dated = sc.model_copy(update={"calendar": sc.calendar.model_copy(update={"start": "2026-11-30 06:00"})})
    assert sim_epoch(dated) == datetime.datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    wed = sc.model_copy(update={"calendar": sc.calendar.model_copy(update={"start": "wed 06:00"})})
    assert sim_epoch(wed) == datetime.datetime(2024, 1, 3, 6, 0, tzinfo=UTC)


# the shaft lines are served by the fixtures above and by test_opcua.py; the 2-lathe workbench
# adds no kind the workbench lacks
@pytest.mark.parametrize("path", ["examples/bracket_line.yaml", "examples/flange_line.yaml", "examples/flange_workbench.yaml",
                                  "examples/flex_cell.yaml"])
def test_every_example_serves_a_machinery_model(path):
    """The other example scenarios (presses, weld cells, robots, AGVs, furnaces, washers, no
    calendar at all) build their Machinery model (one machine per station, MachineToolType
    exactly for the stations that report tools) and refresh it after a day of simulation, each
    machine's item state equal to the run's."""
    assert {str(p) for p in Path("examples").glob("*.yaml")} == {
        path, *(p for p in ("examples/bracket_line.yaml", "examples/flange_line.yaml", "examples/flange_workbench.yaml",
                            "examples/flex_cell.yaml", "examples/flange_workbench_2lathes.yaml", "examples/shaft_line.yaml",
                            PHYSICS))}, "a new example: add it here"
    from asyncua import Server, ua

    import twin
    from twin.api.opcua_machinery import MachineryModel, snapshot
    from twin.scenario import load

    async def go():
        run = twin.Run(load(path))
        s = Server()
        await s.init()
        model = MachineryModel(s, run)
        await model.build_types()
        await model.build(snapshot(run, 0))
        run.run_until(min(float(run.horizon), 30 * 3600.0))
        snap = snapshot(run, model.state_row)
        await model.refresh(snap)
        out = {}
        for name, m in model.machines.items():
            path_ = "Monitoring.MachineTool" if m.tool else "MachineryBuildingBlocks"
            cs = s.get_node(ua.NodeId(f"Machines.{name}.{path_}.MachineryItemState.CurrentState", model.ns["urn:twin"]))
            out[name] = (m.tool, await m.node.read_type_definition(), (await cs.read_value()).Text)
        return run, out

    run, out = asyncio.run(go())
    assert set(out) == set(run.stations)
    for name, (tool, typ, state) in out.items():
        assert tool == bool(run.stations[name].tool_life())
        assert (typ.Identifier == 13) == tool
        assert state == run.tags()[f"{name}.item_state"]
