// An independent check of the twin's OPC 40001-1 / 40501-1 models for tests/api/test_opcua_machinery.py.
// It loads the OFFICIAL NodeSet2 files (npm node-opcua-nodesets) into a local node-opcua address space,
// derives from them the mandatory instance declarations of MachineToolType (recursively, with
// supertypes), then connects to the twin (anonymous, no security) and, for every object in
// Machinery's Machines folder, reports its type definition, the mandatory browse paths it lacks,
// its MachineryItemState / MachineryOperationMode current states (checked against the state nodes
// of the official state machine types) and its prognoses (types checked against PrognosisType).
// Between reports it calls Plant.Step(dt) for each dt given.
// usage: node opcua_machinery.js ENDPOINT DT[,DT...]   -> one JSON line on stdout
"use strict";
const { AddressSpace } = require("node-opcua-address-space");
const { generateAddressSpace } = require("node-opcua-address-space/nodeJS");
const { nodesets } = require("node-opcua-nodesets");
const { OPCUAClient, AttributeIds, BrowseDirection, DataType, NodeClass } = require("node-opcua-client");

const UA = "http://opcfoundation.org/UA/", MACH = "http://opcfoundation.org/UA/Machinery/", MT = "http://opcfoundation.org/UA/MachineTool/";

function key(ns, nodeId) { return `${ns}|${nodeId.value}`; }

async function officialModel() {
  const as = AddressSpace.create();
  await generateAddressSpace(as, [nodesets.standard, nodesets.di, nodesets.ia, nodesets.machinery, nodesets.isa95JobControl,
    nodesets.machineryJobs, nodesets.machineTool]);
  const uri = (i) => as.getNamespaceUri(i);
  const mtIdx = as.getNamespaceIndex(MT), machIdx = as.getNamespaceIndex(MACH);
  const mandatory = (node) => { const r = node.modellingRule; return r === "Mandatory"; };
  // mandatory browse paths [[uri, name], ...] below a type, following the instance declarations' own types
  function paths(type, prefix, depth, out) {
    if (depth > 6) return out;
    const seen = new Set();
    for (let t = type; t; t = t.subtypeOfObj) {
      for (const ref of t.findReferencesEx("Aggregates", BrowseDirection.Forward)) {
        const child = as.findNode(ref.nodeId);
        if (!child || !mandatory(child)) continue;
        const bn = child.browseName, k = `${uri(bn.namespaceIndex)}:${bn.name}`;
        if (seen.has(k)) continue;
        seen.add(k);
        const p = prefix.concat([[uri(bn.namespaceIndex), bn.name]]);
        out.push(p);
        // the declaration's own mandatory children, then those of its type
        const sub = [];
        for (const r2 of child.findReferencesEx("Aggregates", BrowseDirection.Forward)) {
          const c2 = as.findNode(r2.nodeId);
          if (c2 && mandatory(c2)) sub.push(c2);
        }
        const td = child.typeDefinitionObj;
        const inner = [];
        if (td) paths(td, p, depth + 1, inner);
        for (const c2 of sub) {
          const b2 = c2.browseName, p2 = p.concat([[uri(b2.namespaceIndex), b2.name]]);
          if (!inner.some((x) => JSON.stringify(x) === JSON.stringify(p2))) inner.push(p2);
        }
        out.push(...inner);
      }
    }
    return out;
  }
  const mtType = as.findNode(`ns=${mtIdx};i=13`);
  const prognosisType = as.findNode(`ns=${mtIdx};i=3`);
  const states = {};  // "uri|id" -> {name, machine type browse name}
  for (const smId of [`ns=${machIdx};i=1002`, `ns=${machIdx};i=1008`, `ns=${mtIdx};i=1003`]) {
    const sm = as.findNode(smId);
    for (const ref of sm.findReferencesEx("HasComponent", BrowseDirection.Forward)) {
      const s = as.findNode(ref.nodeId);
      if (s && s.typeDefinitionObj && ["StateType", "InitialStateType"].includes(s.typeDefinitionObj.browseName.name)) {
        states[key(uri(s.nodeId.namespace), s.nodeId)] = { name: s.browseName.name, machine: sm.browseName.name };
      }
    }
  }
  const isPrognosis = (u, v) => {
    const n = as.findNode(`ns=${as.getNamespaceIndex(u)};i=${v}`);
    return !!n && n.nodeClass === NodeClass.ObjectType && n.isSubtypeOf(prognosisType);
  };
  const typeName = (u, v) => { const n = as.findNode(`ns=${as.getNamespaceIndex(u)};i=${v}`); return n ? n.browseName.name : null; };
  const mandatoryPaths = paths(mtType, [], 0, []);
  return { mandatoryPaths, states, isPrognosis, typeName };
}

async function main() {
  const [endpoint, dts] = process.argv.slice(2);
  const official = await officialModel();
  const out = { mandatory: official.mandatoryPaths.map((p) => p.map((x) => x[1]).join("/")), reports: [] };
  const client = OPCUAClient.create({ endpointMustExist: false, connectionStrategy: { maxRetry: 0 }, requestedSessionTimeout: 600000 });
  await client.connect(endpoint);
  const session = await client.createSession();
  try {
    const nsArray = await session.readNamespaceArray();
    const idx = (u) => nsArray.indexOf(u);
    const uriOf = (i) => nsArray[i];
    const twin = idx("urn:twin");
    const resolve = async (start, path) => {
      const r = await session.translateBrowsePath({ startingNode: start, relativePath: { elements: path.map(([u, n]) => ({
        referenceTypeId: "ns=0;i=33", isInverse: false, includeSubtypes: true, targetName: { namespaceIndex: idx(u), name: n } })) } });
      return r.statusCode.isGood() && r.targets.length ? r.targets[0].targetId : null;
    };
    const read = async (nodeId) => (await session.read({ nodeId, attributeId: AttributeIds.Value })).value.value;
    const typeOf = async (nodeId) => {
      const b = await session.browse({ nodeId, referenceTypeId: "HasTypeDefinition", browseDirection: BrowseDirection.Forward, resultMask: 63 });
      const t = b.references[0].nodeId;
      return [uriOf(t.namespace), t.value];
    };
    const machinesFolder = `ns=${idx(MACH)};i=1001`;
    const plant = await resolve("ns=0;i=85", [["urn:twin", "Plant"]]);
    const stepId = await resolve(plant, [["urn:twin", "Step"]]);
    const simTimeId = await resolve(plant, [["urn:twin", "SimTime"]]);

    async function report() {
      const rep = { sim_time: await read(simTimeId), machines: {} };
      const b = await session.browse({ nodeId: machinesFolder, referenceTypeId: "HierarchicalReferences", browseDirection: BrowseDirection.Forward,
        includeSubtypes: true, resultMask: 63 });
      for (const ref of b.references) {
        const node = ref.nodeId, name = ref.browseName.name;
        const [tu, tv] = await typeOf(node);
        const m = { type: [tu, tv], type_name: official.typeName(tu, tv), missing: [], states: {}, prognoses: [] };
        const isTool = tu === MT && tv === 13;
        if (isTool) {
          for (const p of official.mandatoryPaths) {
            if (!(await resolve(node, p))) m.missing.push(p.map((x) => x[1]).join("/"));
          }
        }
        const base = isTool ? [[MT, "Monitoring"], [MT, "MachineTool"]] : [[MACH, "MachineryBuildingBlocks"]];
        for (const sm of ["MachineryItemState", "MachineryOperationMode"]) {
          const cs = await resolve(node, base.concat([[MACH, sm], [UA, "CurrentState"]]));
          if (!cs) { m.states[sm] = null; continue; }
          const text = (await read(cs)).text;
          const id = await read(await resolve(cs, [[UA, "Id"]]));
          const st = official.states[`${uriOf(id.namespace)}|${id.value}`];
          m.states[sm] = { text, official_state: st ? st.name : null, of: st ? st.machine : null };
        }
        if (isTool) {
          const prog = await resolve(node, [[MT, "Notification"], [MT, "Prognoses"]]);
          const pb = await session.browse({ nodeId: prog, referenceTypeId: "HasComponent", browseDirection: BrowseDirection.Forward, resultMask: 63 });
          for (const r of pb.references) {
            const [pu, pv] = await typeOf(r.nodeId);
            const t = await read(await resolve(r.nodeId, [[MT, "PredictedTime"]]));
            m.prognoses.push({ name: r.browseName.name, type: official.typeName(pu, pv), is_prognosis: official.isPrognosis(pu, pv),
              predicted: t instanceof Date ? t.toISOString() : null });
          }
        }
        rep.machines[name] = m;
      }
      return rep;
    }
    out.reports.push(await report());
    for (const d of (dts || "").split(",").filter((x) => x.length)) {
      const res = await session.call({ objectId: plant, methodId: stepId, inputArguments: [{ dataType: DataType.Double, value: Number(d) }] });
      if (!res.statusCode.isGood()) throw new Error(`Step(${d}): ${res.statusCode.name}`);
      out.reports.push(await report());
    }
  } catch (e) {
    out.error = String(e.stack || e);
  } finally {
    await session.close();
    await client.disconnect();
  }
  console.log(JSON.stringify(out));
}
main();
