// End-to-end check of the fleet gateway through the official TypeScript
// SDK client: `bpftrace-mcp fleet --http` in front of real agents, which
// fleet/k8s_test.go (TestK8sFleetTypeScript, `make test-k8s`) starts with
// a real API server and runs this script against.
//
// usage: BPFTRACE_MCP_FLEET_TOKEN=... node e2e-fleet.mjs URL NODE...
// NODE... are the nodes whose agents are ready. Prints "E2E FLEET OK" and
// exits 0 when every check passes; exits 1 otherwise.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import assert from "node:assert/strict";

const [url, ...nodes] = process.argv.slice(2);
const token = process.env.BPFTRACE_MCP_FLEET_TOKEN;
if (!url || nodes.length < 2 || !token) {
  console.error("usage: BPFTRACE_MCP_FLEET_TOKEN=... node e2e-fleet.mjs URL NODE NODE...");
  process.exit(2);
}
nodes.sort();
const maxAnswer = 32 << 10; // the default answer budget

const checks = [];
function pass(what) {
  checks.push(what);
  console.log(`ok ${checks.length} - ${what}`);
}

// call returns a tool's structured content; the SDK has already checked it
// against the tool's output schema (listTools ran first).
async function call(client, name, args) {
  const res = await client.callTool({ name, arguments: args });
  assert.ok(!res.isError, `${name}: tool error: ${JSON.stringify(res.content)}`);
  assert.ok(res.structuredContent, `${name}: no structuredContent`);
  const size = JSON.stringify(res).length;
  assert.ok(size <= maxAnswer, `${name}: ${size} bytes, over the ${maxAnswer} budget`);
  return res.structuredContent;
}

// run starts a program and reads the merged result once every node ended.
async function run(client, args) {
  const started = await call(client, "exec_program", args);
  assert.equal(started.status, "success", JSON.stringify(started));
  for (;;) {
    const r = await call(client, "get_result", { execution_id: started.execution_id, wait_seconds: 30 });
    if (r.status !== "running") return { started, r };
  }
}

const mapValue = (r, name) => r.maps?.find((m) => m.name === name)?.entries?.[0]?.value;

let client;
try {
  // 1. A wrong token is refused; the right one connects.
  await assert.rejects(
    (async () => {
      const c = new Client({ name: "bpftrace-mcp-e2e-fleet", version: "1.0.0" });
      await c.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: "Bearer not-the-token-0123456789" } } }));
    })(),
    "the TypeScript client connected to the gateway with a wrong token",
  );
  client = new Client({ name: "bpftrace-mcp-e2e-fleet", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
  const { tools } = await client.listTools();
  for (const want of ["list_nodes", "exec_program", "get_result", "stop_execution", "list_executions"]) {
    const tool = tools.find((t) => t.name === want);
    assert.ok(tool, `tool ${want} missing`);
    assert.ok(tool.outputSchema, `tool ${want} has no output schema`);
  }
  pass(`TS SDK ${client.getServerVersion()?.name}: a wrong token refused; ${tools.length} tools, each with an output schema`);

  // 2. list_nodes: every node's agent, ready.
  const listed = await call(client, "list_nodes", {});
  assert.deepEqual(listed.nodes.filter((n) => n.ready && n.node_ready).map((n) => n.node).sort(), nodes);
  assert.equal(listed.ready, nodes.length);
  assert.equal(listed.total, nodes.length);
  pass(`list_nodes: ${nodes.join(", ")} ready`);

  // 3. A trace on every node, merged: counts and sums added, histogram
  //    samples kept, lines tagged with their node.
  const prog = `BEGIN { @n = count(); @s = sum(5); @h = hist(100); @mx = max(7); printf("hello\\n"); exit(); }`;
  const { started, r } = await run(client, { program: prog });
  assert.deepEqual(started.nodes.map((n) => n.node).sort(), nodes);
  assert.equal(r.status, "completed", JSON.stringify(r));
  assert.ok(!r.error_message, r.error_message);
  assert.equal(mapValue(r, "@n"), nodes.length);
  assert.equal(mapValue(r, "@s"), 5 * nodes.length);
  assert.equal(mapValue(r, "@mx"), 7);
  const samples = r.maps.find((m) => m.name === "@h").entries[0].buckets.reduce((a, b) => a + b.count, 0);
  assert.equal(samples, nodes.length);
  for (const n of nodes) assert.ok(r.output.includes(`[${n}] hello`), `no line tagged ${n}: ${JSON.stringify(r.output)}`);
  assert.deepEqual(r.nodes.map((n) => n.status), nodes.map(() => "completed"));
  pass(`exec_program on ${nodes.length} nodes: @n ${mapValue(r, "@n")}, @s ${mapValue(r, "@s")}, ${samples} hist samples, lines tagged [node]`);

  // 4. The per-node breakdown on request.
  const per = await call(client, "get_result", { execution_id: started.execution_id, per_node: true });
  assert.deepEqual(Object.keys(per.node_maps).sort(), nodes);
  for (const n of nodes) assert.equal(per.node_maps[n].find((m) => m.name === "@n").entries[0].value, 1, `${n}'s own @n`);
  pass("get_result per_node: each node's own maps");

  // 5. A node selection.
  const one = await run(client, { program: `BEGIN { @n = count(); exit(); }`, nodes: { nodes: [nodes[0]] } });
  assert.deepEqual(one.started.nodes.map((n) => n.node), [nodes[0]]);
  assert.equal(mapValue(one.r, "@n"), 1);
  pass(`nodes: {nodes: [${nodes[0]}]} ran on that node alone`);

  // 6. The gateway's own policy refuses before fan-out, with a tool error
  //    that says why.
  const refused = await client.callTool({ name: "exec_program", arguments: { program: `BEGIN { system("id"); }` } });
  assert.ok(refused.isError, "system() was not refused");
  assert.match(refused.content[0].text, /builtins\.deny/);
  pass("a program the policy refuses is a tool error naming its rule");

  // 7. The history: this client's runs, newest first.
  const hist = await call(client, "list_executions", {});
  assert.equal(hist.executions[0].execution_id, one.started.execution_id);
  assert.ok(hist.executions.some((e) => e.execution_id === started.execution_id));
  pass(`list_executions: ${hist.executions.length} runs in the gateway's history`);

  console.log("E2E FLEET OK");
} catch (err) {
  console.error("E2E FLEET FAILED:", err);
  process.exitCode = 1;
} finally {
  await client?.close();
}
