// A node-opcua client for tests/api/test_opcua.py: connects to the twin's OPC UA endpoint with
// Basic256Sha256 (mode from argv), logs in (user/password from argv, "-" for anonymous), reads
// SimTime, calls Step(dt) and prints one JSON line with what happened.
// usage: node opcua_client.js ENDPOINT MODE(Sign|SignAndEncrypt) USER PASSWORD DT[,DT...]
"use strict";
const { OPCUAClient, MessageSecurityMode, SecurityPolicy, UserTokenType, DataType, AttributeIds } = require("node-opcua-client");

async function main() {
  const [endpoint, mode, user, password, dt] = process.argv.slice(2);
  const out = { connected: false };
  const client = OPCUAClient.create({
    applicationName: "twin-test-node",
    securityMode: mode === "Sign" ? MessageSecurityMode.Sign : MessageSecurityMode.SignAndEncrypt,
    securityPolicy: SecurityPolicy.Basic256Sha256,
    endpointMustExist: false,
    connectionStrategy: { maxRetry: 0, initialDelay: 100, maxDelay: 200 },
  });
  try {
    await client.connect(endpoint);
    out.connected = true;
    const identity = user === "-" ? { type: UserTokenType.Anonymous } : { type: UserTokenType.UserName, userName: user, password };
    let session;
    try {
      session = await client.createSession(identity);
    } catch (e) {
      out.session_error = String(e.message || e).split("\n")[0];
      console.log(JSON.stringify(out));
      return;
    }
    const ns = (await session.readNamespaceArray()).indexOf("urn:twin");
    const plant = (await session.translateBrowsePath({ startingNode: "ns=0;i=85", relativePath: { elements: [
      { referenceTypeId: "ns=0;i=35", isInverse: false, includeSubtypes: true, targetName: { namespaceIndex: ns, name: "Plant" } }] } })).targets[0].targetId;
    const child = async (name) => (await session.translateBrowsePath({ startingNode: plant, relativePath: { elements: [
      { referenceTypeId: "ns=0;i=47", isInverse: false, includeSubtypes: true, targetName: { namespaceIndex: ns, name } }] } })).targets[0].targetId;
    const stepNode = (await session.translateBrowsePath({ startingNode: plant, relativePath: { elements: [
      { referenceTypeId: "ns=0;i=47", isInverse: false, includeSubtypes: true, targetName: { namespaceIndex: ns, name: "Step" } }] } })).targets[0].targetId;
    out.sim_time_before = (await session.read({ nodeId: await child("SimTime"), attributeId: AttributeIds.Value })).value.value;
    out.steps = [];
    for (const d of dt.split(",")) {
      const res = await session.call({ objectId: plant, methodId: stepNode, inputArguments: [{ dataType: DataType.Double, value: Number(d) }] });
      out.steps.push({ status: res.statusCode.name, sim_time: res.outputArguments && res.outputArguments.length ? res.outputArguments[0].value : null });
    }
    await session.close();
  } catch (e) {
    out.error = String(e.message || e).split("\n")[0];
  } finally {
    await client.disconnect();
  }
  console.log(JSON.stringify(out));
}
main();
