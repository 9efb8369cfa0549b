// An OPC 40001 Machinery server built with node-opcua (a stack this project did not write) and the
// official NodeSet2 files of node-opcua-nodesets: two machines in Machines, each with the
// MachineryItemState and MachineryOperationMode state machines of the standard, one of them
// executing for 120 s, the other out of service for 300 s. Prints "READY <port>" and serves
// until stdin closes.
const { OPCUAServer, DataType, LocalizedText, StatusCodes } = require("node-opcua");

async function main() {
  const port = parseInt(process.argv[2], 10);
  const ns = require("node-opcua-nodesets").nodesets;
  const server = new OPCUAServer({ port, nodeset_filename: [ns.standard, ns.di, ns.ia, ns.machinery], buildInfo: { productName: "node-opcua machinery stand-in" } });
  await server.initialize();
  const as = server.engine.addressSpace;
  const nsM = as.getNamespaceIndex("http://opcfoundation.org/UA/Machinery/");
  const machines = as.findNode(`ns=${nsM};i=1001`);
  const itemType = as.findNode(`ns=${nsM};i=1002`);   // MachineryItemState_StateMachineType
  const modeType = as.findNode(`ns=${nsM};i=1008`);   // MachineryOperationModeStateMachineType
  const own = as.registerNamespace("urn:node-opcua-machinery-stand-in");
  const now = Date.now();
  const put = (sm, text, ago) => {
    const cs = sm.getComponentByName("CurrentState");
    cs.setValueFromSource({ dataType: DataType.LocalizedText, value: new LocalizedText({ text }) }, StatusCodes.Good,
      new Date(now - ago * 1000));
  };
  for (const [name, item, mode, ago] of [["Lathe-01", "Executing", "Processing", 120], ["Mill-02", "OutOfService", "Maintenance", 300]]) {
    const m = own.addObject({ browseName: name, organizedBy: machines });
    const bb = own.addObject({ browseName: { name: "MachineryBuildingBlocks", namespaceIndex: nsM }, typeDefinition: "FolderType", componentOf: m });
    const ist = itemType.instantiate({ browseName: { name: "MachineryItemState", namespaceIndex: nsM }, componentOf: bb });
    const oms = modeType.instantiate({ browseName: { name: "MachineryOperationMode", namespaceIndex: nsM }, componentOf: bb });
    put(ist, item, ago);
    put(oms, mode, ago);
  }
  await server.start();
  console.log("READY " + port);
  process.stdin.on("end", async () => { await server.shutdown(0); process.exit(0); });
  process.stdin.resume();
}
main().catch(e => { console.error(e); process.exit(1); });
