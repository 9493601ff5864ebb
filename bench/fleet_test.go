package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/bpftrace-mcp/bpftrace-mcp/fleet"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
	"github.com/bpftrace-mcp/bpftrace-mcp/mcpserver"
	"github.com/bpftrace-mcp/bpftrace-mcp/policy"
	"github.com/bpftrace-mcp/bpftrace-mcp/store"
)

// The fleet's figures (issue 13): the latency the gateway adds, and the
// bytes a merged answer weighs against the nodes' own answers. The agents
// are real servers tracing this host with real bpftrace, each on its own
// loopback address; the gateway finds them through client-go's informers,
// over a fake clientset holding the Node and Pod objects a kubelet would
// make (the real API server is `make test-k8s`'s), and serves its MCP
// surface over Streamable HTTP on loopback, as `bpftrace-mcp fleet --http`
// does.

// fleetAgent is one real agent.
type fleetAgent struct {
	node, url, token string
	cs               *mcp.ClientSession // a direct session, as an assistant without the gateway has
}

type benchFleet struct {
	agents  []*fleetAgent
	gateway *mcp.ClientSession
}

// startFleet starts n agents on 127.0.0.2, .3, ... and a gateway over them.
func startFleet(t *testing.T, bin string, n int) *benchFleet {
	t.Helper()
	dir := t.TempDir()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	secret = []byte(hex.EncodeToString(secret))
	secretFile := filepath.Join(dir, "secret")
	if err := os.WriteFile(secretFile, secret, 0o600); err != nil {
		t.Fatal(err)
	}
	f := &benchFleet{}
	var objs []runtime.Object
	var wg sync.WaitGroup
	f.agents = make([]*fleetAgent, n)
	for i := range n {
		node := "node-" + strconv.Itoa(i+1)
		ip := "127.0.0." + strconv.Itoa(i+2)
		wg.Go(func() {
			url := startAgent(t, bin, dir, secretFile, node, ip)
			f.agents[i] = &fleetAgent{node: node, url: url, token: fleet.AgentToken(secret, node)}
		})
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	ctx := context.Background()
	for _, a := range f.agents {
		host, port, err := net.SplitHostPort(a.url[len("http://") : len(a.url)-len(mcpserver.HTTPPath)])
		if err != nil {
			t.Fatal(err)
		}
		p, _ := strconv.Atoi(port)
		objs = append(objs,
			&corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: a.node},
				Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}}},
			&corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{Namespace: "bpftrace-mcp", Name: "agent-" + a.node, Labels: map[string]string{"app.kubernetes.io/component": "agent"}},
				Spec: corev1.PodSpec{NodeName: a.node, Containers: []corev1.Container{{Name: "agent", Image: "bpftrace-mcp",
					Ports: []corev1.ContainerPort{{Name: "mcp", ContainerPort: int32(p)}}}}},
				Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: host,
					Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}},
			})
		cs, err := connectHTTP(ctx, a.url, a.token, &http.Transport{})
		if err != nil {
			t.Fatalf("connect to %s: %v", a.node, err)
		}
		t.Cleanup(func() { cs.Close() })
		a.cs = cs
	}

	wctx, cancel := context.WithCancel(ctx)
	t.Cleanup(cancel)
	d, err := fleet.NewDiscovery(fake.NewClientset(objs...), fleet.DiscoveryOptions{Namespace: "bpftrace-mcp", Selector: "app.kubernetes.io/component=agent"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(wctx); err != nil {
		t.Fatal(err)
	}
	if got := len(d.Agents()); got != n {
		t.Fatalf("discovery found %d agents, want %d", got, n)
	}
	clients, err := fleet.NewClients(fleet.ClientOptions{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, filepath.Join(dir, "gateway.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	pol := policy.Default()
	g, err := fleet.New(fleet.Options{Discovery: d, Agents: clients, DB: db, Check: fleet.PolicyCheck(&pol)})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := mcpserver.NewFleet(mcpserver.FleetOptions{Gateway: g, Version: "bench"})
	if err != nil {
		t.Fatal(err)
	}
	h, err := srv.HTTPHandler(mcpserver.HTTPOptions{})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(h)
	gs, err := mcp.NewClient(&mcp.Implementation{Name: "bench", Version: "1"}, nil).Connect(ctx,
		&mcp.StreamableClientTransport{Endpoint: hs.URL + mcpserver.HTTPPath}, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.gateway = gs
	t.Cleanup(func() {
		gs.Close()
		hs.Close()
		g.Close()
		db.Close()
	})
	return f
}

// startAgent runs `bpftrace-mcp --http ip:0` as a fleet agent for node and
// returns its MCP URL once it listens.
func startAgent(t *testing.T, bin, dir, secretFile, node, ip string) string {
	t.Helper()
	args := []string{"--http", ip + ":0", "--fleet-secret", secretFile, "--node", node,
		"--db", filepath.Join(dir, node+".db"), "--log-level", "info"}
	if b := os.Getenv(testenv.EnvBpftrace); b != "" {
		args = append(args, "--bpftrace", b)
	}
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Error(err)
		return ""
	}
	if err := cmd.Start(); err != nil {
		t.Error(err)
		return ""
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		_ = cmd.Wait()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case url := <-found:
		return url
	case <-time.After(30 * time.Second):
		t.Errorf("agent %s logged no url in 30 s", node)
		return ""
	}
}

// callJSON calls a tool and returns its structured result and the size of
// the result as the client receives it (content and structured content).
func callJSON(ctx context.Context, cs *mcp.ClientSession, tool string, args map[string]any) (map[string]any, int, error) {
	res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: tool, Arguments: args})
	if err != nil {
		return nil, 0, fmt.Errorf("%s: %w", tool, err)
	}
	raw, err := json.Marshal(res)
	if err != nil {
		return nil, 0, err
	}
	if res.IsError {
		return nil, 0, fmt.Errorf("%s: %s", tool, raw)
	}
	b, _ := json.Marshal(res.StructuredContent)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, 0, err
	}
	return m, len(raw), nil
}

// jsonSize is the size of v in JSON.
func jsonSize(v any) int {
	b, _ := json.Marshal(v)
	return len(b)
}

// runToEnd starts program on one MCP server (an agent or the gateway) and
// long-polls get_result until the run has ended; it returns the time from
// the call to that answer, the answer, its size and the execution id.
func runToEnd(ctx context.Context, cs *mcp.ClientSession, program string) (time.Duration, map[string]any, int, string, error) {
	begin := time.Now()
	ex, _, err := callJSON(ctx, cs, "exec_program", map[string]any{"program": program})
	if err != nil {
		return 0, nil, 0, "", err
	}
	id, _ := ex["execution_id"].(string)
	if id == "" {
		return 0, nil, 0, "", fmt.Errorf("exec_program: no execution id: %v", ex)
	}
	for {
		r, n, err := callJSON(ctx, cs, "get_result", map[string]any{"execution_id": id, "wait_seconds": 30})
		if err != nil {
			return 0, nil, 0, id, err
		}
		if r["status"] != "running" {
			if r["status"] != "completed" {
				return 0, nil, 0, id, fmt.Errorf("run %s ended %v: %v", id, r["status"], r["error_message"])
			}
			return time.Since(begin), r, n, id, nil
		}
	}
}

// latencyProgram prints one line and a few maps and ends at once: the run
// is as short as bpftrace allows, so that what the gateway adds shows.
const latencyProgram = `BEGIN { @n = count(); @h = hist(100); @s = stats(7); printf("hello\n"); exit(); }`

// TestBenchFleetLatency: the time from exec_program to the answer with
// the merged result, through the gateway to 1, 3 and 10 agents, against
// the same call made directly to one agent, and against the same program
// run on every agent at once by the client itself (what an assistant
// juggling N endpoints would wait, with no merge). Alternating, medians.
// On this machine all the agents share its two cores, so part of what N
// agents add is N bpftrace processes starting at once; the concurrent
// direct calls carry that part too, and separate it from the gateway's.
func TestBenchFleetLatency(t *testing.T) {
	requireBench(t)
	b := build(t)
	ctx := context.Background()
	const runs = 7
	for _, n := range []int{1, 3, 10} {
		f := startFleet(t, b.server, n)
		one := f.agents[0].cs
		// Warm up every path: sessions, page cache, the catalog.
		for _, cs := range []*mcp.ClientSession{one, f.gateway} {
			if _, _, _, _, err := runToEnd(ctx, cs, latencyProgram); err != nil {
				t.Fatal(err)
			}
		}
		var direct, fanned, gw []time.Duration
		for range runs {
			d, _, _, _, err := runToEnd(ctx, one, latencyProgram)
			if err != nil {
				t.Fatal(err)
			}
			direct = append(direct, d)

			begin := time.Now()
			var wg sync.WaitGroup
			errs := make([]error, n)
			for i, a := range f.agents {
				wg.Go(func() { _, _, _, _, errs[i] = runToEnd(ctx, a.cs, latencyProgram) })
			}
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			fanned = append(fanned, time.Since(begin))

			g, r, _, _, err := runToEnd(ctx, f.gateway, latencyProgram)
			if err != nil {
				t.Fatal(err)
			}
			if !mergedCount(t, r, "@n", int64(n)) {
				t.Fatalf("the gateway's answer does not merge @n over %d nodes: %v", n, r["maps"])
			}
			gw = append(gw, g)
		}
		md, mf, mg := medianOf(direct), medianOf(fanned), medianOf(gw)
		t.Logf("%2d agents, median of %d alternating: one agent directly %.0f ms | all %d directly at once %.0f ms | gateway %.0f ms: added %+.0f ms (%.2fx) against one agent, %+.0f ms (%.2fx) against the concurrent direct calls",
			n, runs, msOf(md), n, msOf(mf), msOf(mg), msOf(mg-md), float64(mg)/float64(md), msOf(mg-mf), float64(mg)/float64(mf))
	}
}

// mergedCount reports whether the answer's map name holds one entry of
// value want, merged over want nodes.
func mergedCount(t *testing.T, r map[string]any, name string, want int64) bool {
	t.Helper()
	maps, _ := r["maps"].([]any)
	for _, m := range maps {
		mm, _ := m.(map[string]any)
		if mm["name"] != name {
			continue
		}
		es, _ := mm["entries"].([]any)
		if len(es) != 1 {
			return false
		}
		v, _ := es[0].(map[string]any)["value"].(float64)
		return int64(v) == want
	}
	return false
}

// bytesProgram is a trace an assistant would run across a fleet: which
// processes open files, how many, and a histogram of their pids, for a
// second.
const bytesProgram = `tracepoint:syscalls:sys_enter_openat { @opens[comm] = count(); @bypid[comm, pid] = count(); @pids = hist(pid); }
interval:s:1 { exit(); }`

// TestBenchFleetBytes: the bytes of the gateway's merged answer for one
// trace on 3 and 10 agents, against the sum of the answers each agent
// gives for its own part of the same run (each read with the same default
// budget), which is what an assistant would receive tracing the nodes one
// by one. Every answer of the gateway stays within the default budget.
func TestBenchFleetBytes(t *testing.T) {
	requireBench(t)
	b := build(t)
	ctx := context.Background()
	keepOpening(t)
	for _, n := range []int{3, 10} {
		f := startFleet(t, b.server, n)
		_, r, merged, _, err := runToEnd(ctx, f.gateway, bytesProgram)
		if err != nil {
			t.Fatal(err)
		}
		nodes, _ := r["nodes"].([]any)
		if len(nodes) != n {
			t.Fatalf("the gateway ran on %d nodes, want %d", len(nodes), n)
		}
		byNode := map[string]*fleetAgent{}
		for _, a := range f.agents {
			byNode[a.node] = a
		}
		sum, sumMaps := 0, 0
		for _, ns := range nodes {
			st := ns.(map[string]any)
			a := byNode[st["node"].(string)]
			own, size, err := callJSON(ctx, a.cs, "get_result", map[string]any{"execution_id": st["execution_id"]})
			if err != nil {
				t.Fatal(err)
			}
			sum += size
			sumMaps += jsonSize(own["maps"])
		}
		_, perNode, err := callJSON(ctx, f.gateway, "get_result", map[string]any{"execution_id": r["execution_id"], "per_node": true})
		if err != nil {
			t.Fatal(err)
		}
		for what, size := range map[string]int{"merged answer": merged, "answer with the per-node breakdown": perNode} {
			if size > maxResponseBytes {
				t.Errorf("%d agents: the gateway's %s is %d bytes, over the default budget of %d", n, what, size, maxResponseBytes)
			}
		}
		t.Logf("%2d agents, one trace: merged answer %d bytes | the agents' own answers %d bytes in all | merged/sum = %.2f | merged with per_node breakdown %d bytes",
			n, merged, sum, float64(merged)/float64(sum), perNode)
		t.Logf("%2d agents, the maps alone: merged %d bytes | the agents' own %d bytes in all | merged/sum = %.2f",
			n, jsonSize(r["maps"]), sumMaps, float64(jsonSize(r["maps"]))/float64(sumMaps))
	}
}
