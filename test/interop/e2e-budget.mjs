// End-to-end check of the answer budget through a third-party MCP client:
// the official TypeScript SDK drives every tool of the built server over
// stdio, with requests that ask for a lot, and asserts that no answer is
// larger than the server's ceiling (and that get_result stays within the
// max_bytes it is given). It prints the largest answer of each tool.
//
// usage: node e2e-budget.mjs BINARY [server flags...]
// Prints "E2E BUDGET OK" and exits 0 when every check passes; exits 1
// otherwise.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import assert from "node:assert/strict";

const [bin, ...serverArgs] = process.argv.slice(2);
if (!bin) {
  console.error("usage: node e2e-budget.mjs BINARY [server flags...]");
  process.exit(2);
}
// The ceiling this run sets, below the default so that it binds.
const ceiling = 48 * 1024;
const transport = new StdioClientTransport({
  command: bin,
  args: ["--max-response-bytes", String(ceiling), ...serverArgs],
  env: { ...process.env },
  stderr: "inherit",
});
const client = new Client({ name: "bpftrace-mcp-e2e-budget", version: "1.0.0" });
await client.connect(transport);

const largest = new Map(); // tool -> bytes
const calls = new Set();

// call calls a tool, measures its answer as the client received it and
// checks it against the ceiling (and against max, when given).
async function call(name, args, max = ceiling) {
  const res = await client.callTool({ name, arguments: args }, undefined, { timeout: 120000 });
  const bytes = Buffer.byteLength(JSON.stringify(res));
  calls.add(name);
  largest.set(name, Math.max(largest.get(name) ?? 0, bytes));
  assert.ok(bytes <= ceiling, `${name} ${JSON.stringify(args)}: ${bytes} bytes, ceiling ${ceiling}`);
  assert.ok(bytes <= max, `${name} ${JSON.stringify(args)}: ${bytes} bytes, max_bytes ${max}`);
  const text = res.content.map((c) => c.text ?? "").join("");
  assert.ok(!text.includes("\\u003e"), `${name}: HTML-escaped text`);
  return { res, data: res.structuredContent, text };
}

try {
  const { tools } = await client.listTools();

  // Discovery, asking for as much as each tool allows.
  const probes = await call("list_probes", { filter: "", limit: 5000 });
  assert.ok(probes.data.probes.length > 0 && probes.data.next_cursor, "a large listing is paged");
  await call("list_probes", { filter: "", limit: 5000, cursor: probes.data.next_cursor });
  await call("describe_probe", { probe: "tracepoint:sched:sched_switch" });
  await call("list_helpers", {});
  await call("system_info", {});
  await call("validate_program", { program: "tracepoint:syscalls:sys_enter_* { @[probe] = count(); }" });
  await call("validate_program", { program: 'BEGIN { printf("x" }' });

  // A run with thousands of lines and a map of thousands of entries,
  // waited for.
  const big = 'interval:ms:1 { @n = @n + 1; @m[@n] = @n; printf("tick %d -> <%d> & more\\n", @n, @n * 2); } interval:ms:2000 { exit(); }';
  const ran = await call("exec_program", { program: big, wait: true });
  assert.ok(!ran.res.isError, ran.text.slice(0, 500));
  const id = ran.data.execution_id;
  assert.ok(ran.data.result && ran.data.result.status === "completed", ran.text.slice(0, 500));
  assert.ok(ran.text.includes("tick 1 -> <2> & more"), "text content is not escaped");

  for (const max of [1024, 4096, 16384, 32768, ceiling]) {
    const page = await call("get_result", { execution_id: id, max_bytes: max, limit: 10000 }, max);
    const m = page.data.maps.find((x) => x.name === "@m");
    assert.ok(m && m.entries_total > 100 && m.truncated, JSON.stringify(page.data).slice(0, 500));
    for (let i = 1; i < m.entries.length; i++) {
      assert.ok(m.entries[i - 1].value >= m.entries[i].value, "map entries most significant first");
    }
    const next = await call("get_result", { execution_id: id, map: "@m", map_offset: m.entries.length, max_bytes: max }, max);
    assert.equal(next.data.maps[0].offset ?? 0, m.entries.length);
  }
  await call("get_result", { execution_id: id, offset: 500, limit: 10000 });
  await call("get_result", { execution_id: id, offset: 100000 });
  const tooMuch = await call("get_result", { execution_id: id, max_bytes: ceiling + 1 });
  assert.equal(tooMuch.res.isError, true, "max_bytes above the ceiling is refused");

  // A run read while it runs, then stopped.
  const live = await call("exec_program", { program: 'interval:ms:1 { printf("%d\\n", nsecs); }', timeout: 30 });
  await call("get_result", { execution_id: live.data.execution_id, wait_seconds: 2, limit: 10000 });
  await call("stop_execution", { execution_id: live.data.execution_id });

  // A refused program, and a run that fails after it started.
  const refused = await call("exec_program", { program: 'BEGIN { system("id"); }' });
  assert.equal(refused.res.isError, true);
  const failed = await call("exec_program", { program: "uprobe:/bin/bash:0x1 { @x = count(); } interval:s:1 { exit(); }", wait: true });
  assert.equal(failed.res.isError, true, `failed run: ${failed.text}`);
  assert.notEqual(failed.data.status, "success");

  await call("list_executions", { limit: 500 });

  // The execution resource is a response too.
  const rr = await client.readResource({ uri: `bpftrace://executions/${id}` });
  const rbytes = Buffer.byteLength(JSON.stringify(rr));
  largest.set("resource execution", rbytes);
  assert.ok(rbytes <= ceiling, `execution resource: ${rbytes} bytes`);

  for (const t of tools) assert.ok(calls.has(t.name), `tool ${t.name} was not driven`);
  for (const [name, bytes] of [...largest].sort()) console.log(`${name.padEnd(20)} largest answer ${bytes} bytes`);
  console.log("E2E BUDGET OK");
} catch (err) {
  console.error("E2E BUDGET FAILED:", err);
  process.exitCode = 1;
} finally {
  await client.close();
}
