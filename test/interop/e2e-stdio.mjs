// End-to-end check through a third-party MCP client: the official TypeScript
// SDK launches the built server over stdio, lists its tools, runs a real
// trace and reads its output and maps.
//
// usage: node e2e-stdio.mjs BINARY [server flags...]
// Prints "E2E OK" and exits 0 when every check passes; exits 1 otherwise.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { openSync, closeSync } from "node:fs";
import assert from "node:assert/strict";

const [bin, ...serverArgs] = process.argv.slice(2);
if (!bin) {
  console.error("usage: node e2e-stdio.mjs BINARY [server flags...]");
  process.exit(2);
}

const transport = new StdioClientTransport({
  command: bin,
  args: serverArgs,
  env: { ...process.env }, // the SDK forwards only a whitelist otherwise
  stderr: "inherit",
});
const client = new Client({ name: "bpftrace-mcp-e2e", version: "1.0.0" });
await client.connect(transport);

function structured(res) {
  assert.ok(res.structuredContent, `no structuredContent in ${JSON.stringify(res)}`);
  return res.structuredContent;
}

async function call(name, args) {
  return client.callTool({ name, arguments: args });
}

try {
  // 1. The tools and their contracts.
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  for (const want of ["exec_program", "get_result", "list_helpers", "list_probes", "list_executions", "stop_execution"]) {
    assert.ok(names.includes(want), `tool ${want} missing from ${names}`);
  }
  for (const t of tools) {
    assert.equal(t.inputSchema.type, "object", `${t.name} input schema`);
    assert.ok(t.outputSchema, `${t.name} has no output schema`);
    assert.ok(t.description && t.description.length > 40, `${t.name} description too short`);
    assert.ok(t.annotations, `${t.name} has no annotations`);
  }

  // 2. Discovery: a filter without a provider matches anywhere in the name.
  const probes = structured(await call("list_probes", { filter: "syscalls:*openat*", limit: 5 }));
  assert.ok(probes.count >= 2, `count ${probes.count}`);
  assert.ok(probes.probes.includes("tracepoint:syscalls:sys_enter_openat"), JSON.stringify(probes));
  const helpers = structured(await call("list_helpers", {}));
  const hnames = new Set(helpers.helpers.map((h) => h.name));
  for (const h of ["count", "hist", "printf", "comm", "pid"]) assert.ok(hnames.has(h), `helper ${h} missing`);
  assert.equal(helpers.helpers.find((h) => h.name === "system").unsafe, true);

  // 3. A program with an error is a tool error with line and column.
  const bad = await call("exec_program", { program: 'BEGIN { printf("x" }' });
  assert.equal(bad.isError, true, "syntax error must be a tool error");
  assert.match(bad.content[0].text, /line 1, column 20/);

  // 4. A real trace that runs to its timeout: completed/timeout with maps.
  const started = structured(await call("exec_program", {
    program: 'BEGIN { printf("hello from bpftrace\\n"); } tracepoint:syscalls:sys_enter_openat { @opens[comm] = count(); } interval:ms:100 { @ticks = count(); }',
    timeout: 2,
  }));
  assert.equal(started.status, "success", JSON.stringify(started));
  const id = started.execution_id;
  // Make some openat() calls from this process while the trace runs.
  const until = Date.now() + 1500;
  while (Date.now() < until) {
    closeSync(openSync("/etc/hostname", "r"));
    await new Promise((r) => setTimeout(r, 20));
  }
  // Long-poll past the output seen so far: it answers at the end at the latest.
  let res;
  let offset = 0;
  for (let i = 0; i < 10; i++) {
    res = structured(await call("get_result", { execution_id: id, offset, wait_seconds: 5 }));
    offset = res.next_offset;
    if (res.status !== "running") break;
  }
  res = structured(await call("get_result", { execution_id: id }));
  assert.equal(res.status, "completed", JSON.stringify(res));
  assert.equal(res.end_reason, "timeout");
  assert.ok(res.output.includes("hello from bpftrace"), JSON.stringify(res.output));
  assert.ok(res.output.some((l) => /^@ticks: \d+$/.test(l)), JSON.stringify(res.output));
  assert.ok(res.output.some((l) => /^@opens\[node\]: \d+$/.test(l)), JSON.stringify(res.output));
  const opens = res.maps.find((m) => m.name === "@opens");
  assert.ok(opens && opens.entries.some((e) => e.key[0] === "node" && e.value > 0), JSON.stringify(res.maps));
  assert.ok(res.duration >= 1.5 && res.duration < 10, `duration ${res.duration}`);
  // The timeout counts tracing time, from attach; duration adds attach and teardown.
  assert.ok(res.attach_seconds > 0 && res.traced_seconds >= 2, `attach ${res.attach_seconds}, traced ${res.traced_seconds}`);
  assert.ok(res.attach_seconds + res.traced_seconds <= res.duration + 0.002,
    `attach + traced > duration: ${JSON.stringify(res)}`);

  // 5. Paging: an offset past the end is an empty page.
  const past = structured(await call("get_result", { execution_id: id, offset: 100000 }));
  assert.equal(past.lines_returned, 0);
  assert.equal(past.has_more, false);

  // 6. An unknown id is a clear tool error.
  const unknown = await call("get_result", { execution_id: "nosuchid" });
  assert.equal(unknown.isError, true);
  assert.match(unknown.content[0].text, /no execution with id/);

  // 7. Stop a long run: its maps are kept.
  const long = structured(await call("exec_program", { program: "interval:ms:50 { @n = count(); }", timeout: 60 }));
  await new Promise((r) => setTimeout(r, 1200));
  const stopped = structured(await call("stop_execution", { execution_id: long.execution_id }));
  assert.equal(stopped.status, "completed", JSON.stringify(stopped));
  assert.equal(stopped.end_reason, "stopped");
  const again = structured(await call("stop_execution", { execution_id: long.execution_id }));
  assert.equal(again.already_ended, true);
  const after = structured(await call("get_result", { execution_id: long.execution_id }));
  assert.ok(after.output.some((l) => /^@n: \d+$/.test(l)), JSON.stringify(after.output));

  // 8. History, newest first.
  const hist = structured(await call("list_executions", { limit: 5 }));
  assert.equal(hist.executions[0].execution_id, long.execution_id);

  console.log("E2E OK");
} catch (err) {
  console.error("E2E FAILED:", err);
  process.exitCode = 1;
} finally {
  await client.close();
}
