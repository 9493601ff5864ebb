//go:build k8s

// The fleet against a real Kubernetes API server: etcd and kube-apiserver
// on loopback (internal/kubetest), real bpftrace-mcp agents tracing this
// host on 127.0.0.x addresses, Node and Pod objects made as a kubelet would
// make them. Run with `make test-k8s`, as root.
package fleet

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/bpftrace-mcp/bpftrace-mcp/access"
	"github.com/bpftrace-mcp/bpftrace-mcp/bpftrace/output"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/kubetest"
	"github.com/bpftrace-mcp/bpftrace-mcp/internal/testenv"
	"github.com/bpftrace-mcp/bpftrace-mcp/policy"
	"github.com/bpftrace-mcp/bpftrace-mcp/store"
)

const ns = "bpftrace-mcp"

var agentLabels = map[string]string{"app.kubernetes.io/name": "bpftrace-mcp", "app.kubernetes.io/component": "agent"}

type cluster struct {
	cp                   *kubetest.ControlPlane
	secret               []byte
	secretFile, bin, dir string
	agents               map[string]*agentProc // by node
}

type agentProc struct {
	node, addr string
	cmd        *exec.Cmd
	done       chan struct{}
}

func newCluster(t *testing.T) *cluster {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: the agents run bpftrace")
	}
	c := &cluster{cp: kubetest.Start(t), dir: t.TempDir(), agents: map[string]*agentProc{}}
	c.secret = make([]byte, 32)
	if _, err := rand.Read(c.secret); err != nil {
		t.Fatal(err)
	}
	c.secret = []byte(hex.EncodeToString(c.secret))
	c.secretFile = filepath.Join(c.dir, "fleet-secret")
	if err := os.WriteFile(c.secretFile, c.secret, 0o600); err != nil {
		t.Fatal(err)
	}
	c.bin = filepath.Join(c.dir, "bpftrace-mcp")
	build := exec.Command("go", "build", "-o", c.bin, "../cmd/bpftrace-mcp")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the agent: %v\n%s", err, out)
	}
	ctx := context.Background()
	if _, err := c.cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// Without a controller manager nobody makes the namespaces' default
	// service accounts, which admission requires of every pod.
	for _, n := range []string{ns, "default"} {
		if _, err := c.cp.Client.CoreV1().ServiceAccounts(n).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default"}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	return c
}

// gatewayClient makes the gateway's identity as the chart does: a
// ServiceAccount bound to a read-only ClusterRole, and a real token.
func (c *cluster) gatewayClient(t *testing.T) kubernetes.Interface {
	t.Helper()
	cs, err := kubernetes.NewForConfig(c.gatewayConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	// The role is read-only: the gateway's token cannot change the cluster.
	_, err = cs.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "x"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "x", Image: "x"}}}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) {
		t.Fatalf("the gateway's service account could create a pod: %v", err)
	}
	return cs
}

// gatewayConfig is the client configuration of the gateway's
// ServiceAccount, bound to the chart's read-only ClusterRole.
func (c *cluster) gatewayConfig(t *testing.T) *rest.Config {
	t.Helper()
	ctx := context.Background()
	rbac := c.cp.Client.RbacV1()
	if _, err := rbac.ClusterRoles().Create(ctx, &rbacv1.ClusterRole{
		ObjectMeta: metav1.ObjectMeta{Name: "bpftrace-mcp-gateway"},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"pods", "nodes"}, Verbs: []string{"get", "list", "watch"}}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := rbac.ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "bpftrace-mcp-gateway"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "bpftrace-mcp-gateway"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "gateway", Namespace: ns}},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return c.cp.ServiceAccountConfig(t, ns, "gateway")
}

// addNode registers a Node as a kubelet would, ready, with labels.
func (c *cluster) addNode(t *testing.T, name string, labels map[string]string) {
	t.Helper()
	ctx := context.Background()
	n, err := c.cp.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue, LastHeartbeatTime: metav1.Now()}}
	if _, err := c.cp.Client.CoreV1().Nodes().UpdateStatus(ctx, n, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// startAgent runs a real agent for node on its own loopback address and
// registers its pod, running and ready, as the kubelet would.
func (c *cluster) startAgent(t *testing.T, node string, ip string) *agentProc {
	t.Helper()
	l, err := net.Listen("tcp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	args := []string{"--http", addr, "--fleet-secret", c.secretFile, "--node", node, "--db", filepath.Join(c.dir, node+"-"+strconv.Itoa(len(c.agents))+".db")}
	if b := os.Getenv("BPFTRACE_MCP_TEST_BPFTRACE"); b != "" {
		args = append(args, "--bpftrace", b)
	}
	cmd := exec.Command(c.bin, args...)
	logf, err := os.Create(filepath.Join(c.dir, node+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	a := &agentProc{node: node, addr: addr, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(a.done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-a.done:
		case <-time.After(15 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-a.done
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("agent %s log:\n%s", node, b)
		}
	})
	// Wait until it listens.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent %s did not listen on %s", node, addr)
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.agents[node] = a
	_, port, _ := net.SplitHostPort(addr)
	c.addPod(t, ns, "agent-"+node, node, ip, agentLabels, nil, port)
	return a
}

// addPod creates a pod on node and sets its status as a kubelet would:
// running, ready, with an IP and its containers' ids.
func (c *cluster) addPod(t *testing.T, namespace, name, node, ip string, labels map[string]string, containerIDs []string, port string) {
	t.Helper()
	ctx := context.Background()
	ctr := corev1.Container{Name: "main", Image: "bpftrace-mcp"}
	if port != "" {
		p, _ := strconv.Atoi(port)
		ctr.Ports = []corev1.ContainerPort{{Name: "mcp", ContainerPort: int32(p)}}
	}
	pod, err := c.cp.Client.CoreV1().Pods(namespace).Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{ctr}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.PodIP = ip
	pod.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	pod.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	for i, id := range containerIDs {
		pod.Status.ContainerStatuses = append(pod.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: "c" + strconv.Itoa(i), ContainerID: "containerd://" + id, Ready: true, Image: "x", ImageID: "x",
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}})
	}
	if _, err := c.cp.Client.CoreV1().Pods(namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func (c *cluster) gateway(t *testing.T, cs kubernetes.Interface) (*Gateway, *Discovery) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	d, err := NewDiscovery(cs, DiscoveryOptions{Namespace: ns, Selector: "app.kubernetes.io/component=agent"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	clients, err := NewClients(ClientOptions{Secret: c.secret})
	if err != nil {
		t.Fatal(err)
	}
	db, err := store.Open(ctx, filepath.Join(c.dir, "gateway.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	pol := policy.Default()
	g, err := New(Options{Discovery: d, Agents: clients, DB: db, Check: PolicyCheck(&pol), PollWait: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g, d
}

func waitAgents(t *testing.T, d *Discovery, want func([]Agent) bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !want(d.Agents()) {
		if time.Now().After(deadline) {
			t.Fatalf("discovery never saw %s; it has %+v", what, d.Agents())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func readyNodes(as []Agent) []string {
	var out []string
	for _, a := range as {
		if a.Ready && a.NodeReady {
			out = append(out, a.Node)
		}
	}
	return out
}

var operator = access.WithPrincipal(context.Background(), access.Principal{Name: "alice", Role: access.Operator})

func run(t *testing.T, g *Gateway, req ExecRequest) (*Started, *store.Execution) {
	t.Helper()
	st, err := g.Exec(operator, req)
	if err != nil {
		t.Fatalf("Exec: %v", err)
	}
	ctx, cancel := context.WithTimeout(operator, 90*time.Second)
	defer cancel()
	if err := g.Wait(ctx, st.ExecutionID); err != nil {
		t.Fatalf("the fleet run did not end within 90 s: %v", err)
	}
	e, err := g.o.DB.FindExecution(ctx, st.ExecutionID)
	if err != nil {
		t.Fatal(err)
	}
	return st, e
}

func TestK8sFleet(t *testing.T) {
	c := newCluster(t)
	gw := c.gatewayClient(t)
	c.addNode(t, "node-1", map[string]string{"zone": "a"})
	c.addNode(t, "node-2", map[string]string{"zone": "a"})
	c.addNode(t, "node-3", map[string]string{"zone": "b"})
	for i, n := range []string{"node-1", "node-2", "node-3"} {
		c.startAgent(t, n, "127.0.0."+strconv.Itoa(i+2))
	}
	g, d := c.gateway(t, gw)
	waitAgents(t, d, func(as []Agent) bool { return len(readyNodes(as)) == 3 }, "three ready agents")

	t.Run("merged", func(t *testing.T) {
		prog := `BEGIN { @c["x"] = count(); @s = sum(5); @h = hist(100); @mn = min(7); @mx = max(3); @st = stats(10); @last = 42; printf("hello\n"); exit(); }`
		st, e := run(t, g, ExecRequest{Program: prog})
		if len(st.Nodes) != 3 {
			t.Fatalf("started on %d nodes, want 3: %+v", len(st.Nodes), st.Nodes)
		}
		if e.Status != store.StatusCompleted || e.ErrorMessage != "" {
			t.Fatalf("status %s (%s), want completed", e.Status, e.ErrorMessage)
		}
		lines, err := g.o.DB.ReadOutput(operator, e.ID, 0, 1000, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []string{"node-1", "node-2", "node-3"} {
			if !slices.Contains(lines, "["+n+"] hello") {
				t.Errorf("no line tagged %s: %q", n, lines)
			}
		}
		var merged []MergedMap
		if err := json.Unmarshal([]byte(e.Maps), &merged); err != nil {
			t.Fatal(err)
		}
		byName := map[string]MergedMap{}
		for _, m := range merged {
			byName[m.Name] = m
		}
		value := func(name string) any {
			m := byName[name]
			if m.Map == nil || len(m.Entries) != 1 {
				t.Fatalf("%s: %+v", name, m)
			}
			return m.Entries[0].Value
		}
		for name, want := range map[string]int64{"@c": 3, "@s": 15, "@mn": 7, "@mx": 3} {
			if got := value(name); got != want {
				t.Errorf("%s = %v, want %d", name, got, want)
			}
		}
		if s := byName["@st"].Entries[0].Stats; s == nil || s.Count != 3 || s.Total != 30 || s.Average != 10 {
			t.Errorf("@st = %+v, want count 3, total 30, average 10", s)
		}
		var hc uint64
		for _, b := range byName["@h"].Entries[0].Buckets {
			hc += b.Count
		}
		if hc != 3 {
			t.Errorf("@h holds %d samples, want 3", hc)
		}
		if m := byName["@last"]; !m.PerNode || len(m.Entries) != 3 {
			t.Errorf("@last (a plain value) = %+v, want per node, 3 entries", m)
		}
		// The merge against each agent's own result.
		parts, err := g.o.DB.Parts(operator, e.ID)
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, p := range parts {
			var ms []*output.Map
			if err := json.Unmarshal([]byte(p.Maps), &ms); err != nil {
				t.Fatalf("%s's maps: %v", p.Name, err)
			}
			for _, m := range ms {
				if m.Name == "@s" {
					sum += m.Entries[0].Value.(int64)
				}
			}
		}
		if sum != 15 {
			t.Errorf("the agents' own @s add up to %d, want 15", sum)
		}
		// The caller's name reached each agent's audit.
		adb, err := store.Open(operator, filepath.Join(c.dir, "node-1-0.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer adb.Close()
		entries, err := adb.ListAudit(operator, store.AuditFilter{Limit: 20})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, en := range entries {
			found = found || en.ExecutionID == parts[0].RemoteID && strings.Contains(en.Client, "fleet-gateway") && strings.HasSuffix(en.Client, " for alice")
		}
		if !found {
			t.Errorf("node-1's audit does not name alice as the caller: %+v", entries)
		}
	})

	t.Run("by label", func(t *testing.T) {
		st, e := run(t, g, ExecRequest{Program: `BEGIN { @n = count(); exit(); }`, Nodes: Selection{NodeSelector: "zone=a"}})
		var got []string
		for _, n := range st.Nodes {
			got = append(got, n.Node)
		}
		if strings.Join(got, ",") != "node-1,node-2" {
			t.Errorf("zone=a ran on %v, want node-1,node-2", got)
		}
		if !strings.Contains(e.Maps, `"value":2`) {
			t.Errorf("merged maps %s, want @n 2", e.Maps)
		}
	})

	t.Run("refused before fan-out", func(t *testing.T) {
		_, err := g.Exec(operator, ExecRequest{Program: `BEGIN { system("id"); }`})
		if err == nil || !strings.Contains(err.Error(), "builtins.deny") {
			t.Errorf("system() was not refused by the gateway: %v", err)
		}
		viewer := access.WithPrincipal(context.Background(), access.Principal{Name: "v", Role: access.Viewer})
		if _, err := g.Exec(viewer, ExecRequest{Program: `BEGIN { exit(); }`}); err == nil {
			t.Error("a viewer ran a program")
		}
	})

	t.Run("agent killed mid-run", func(t *testing.T) {
		st, err := g.Exec(operator, ExecRequest{Program: `interval:ms:200 { @ticks = count(); }`, Timeout: 5})
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(1500 * time.Millisecond)
		victim := c.agents["node-2"]
		_ = syscall.Kill(-victim.cmd.Process.Pid, syscall.SIGKILL)
		<-victim.done
		ctx, cancel := context.WithTimeout(operator, 60*time.Second)
		defer cancel()
		if err := g.Wait(ctx, st.ExecutionID); err != nil {
			t.Fatalf("the fleet run hung after an agent died: %v", err)
		}
		nodes, err := g.Nodes(ctx, st.ExecutionID)
		if err != nil {
			t.Fatal(err)
		}
		status := map[string]string{}
		for _, n := range nodes {
			status[n.Node] = n.Status
		}
		if status["node-2"] != store.StatusFailed || status["node-1"] != store.StatusCompleted || status["node-3"] != store.StatusCompleted {
			t.Errorf("per-node status %v, want node-2 failed, the others completed", status)
		}
		e, _ := g.o.DB.FindExecution(ctx, st.ExecutionID)
		if e.Status != store.StatusCompleted || !strings.Contains(e.ErrorMessage, "partial") {
			t.Errorf("execution %s (%q), want completed with a partial result", e.Status, e.ErrorMessage)
		}
	})

	t.Run("pods come and go", func(t *testing.T) {
		ctx := context.Background()
		if err := c.cp.Client.CoreV1().Pods(ns).Delete(ctx, "agent-node-2", metav1.DeleteOptions{GracePeriodSeconds: new(int64(0))}); err != nil {
			t.Fatal(err)
		}
		waitAgents(t, d, func(as []Agent) bool { return !slices.Contains(readyNodes(as), "node-2") }, "node-2's agent gone")
		c.addNode(t, "node-4", map[string]string{"zone": "b"})
		c.startAgent(t, "node-4", "127.0.0.5")
		waitAgents(t, d, func(as []Agent) bool { return slices.Contains(readyNodes(as), "node-4") }, "node-4's agent")
		st, _ := run(t, g, ExecRequest{Program: `BEGIN { exit(); }`})
		var got []string
		for _, n := range st.Nodes {
			got = append(got, n.Node)
		}
		if strings.Join(got, ",") != "node-1,node-3,node-4" {
			t.Errorf("ran on %v, want node-1,node-3,node-4", got)
		}
	})

	t.Run("pod target", func(t *testing.T) {
		// The "container": a process in a cgroup named after its id, that
		// opens files.
		w := exec.Command("/bin/sh", "-c", "while :; do cat /etc/hostname >/dev/null; sleep 0.05; done")
		w.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		if err := w.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = syscall.Kill(-w.Process.Pid, syscall.SIGKILL); _ = w.Wait() })
		id := testenv.ContainerCgroup(t, policy.CgroupRoot(), w.Process.Pid)
		c.addPod(t, "default", "web", "node-3", "127.0.0.9", map[string]string{"app": "web"}, []string{id}, "")
		st, e := run(t, g, ExecRequest{
			Program: `tracepoint:syscalls:sys_enter_openat { @comm[comm] = count(); } interval:s:2 { exit(); }`,
			Target:  &PodTarget{Pod: "default/web"},
		})
		if len(st.Nodes) != 1 || st.Nodes[0].Node != "node-3" {
			t.Fatalf("ran on %+v, want only node-3 where the pod runs", st.Nodes)
		}
		if e.Status != store.StatusCompleted {
			t.Fatalf("status %s: %s", e.Status, e.ErrorMessage)
		}
		var merged []MergedMap
		if err := json.Unmarshal([]byte(e.Maps), &merged); err != nil || len(merged) != 1 {
			t.Fatalf("maps %s: %v", e.Maps, err)
		}
		for _, en := range merged[0].Entries {
			if k := fmt.Sprint(en.Key[0]); k != "cat" && k != "sh" && k != "sleep" { // the loop in the container
				t.Errorf("a process outside the pod's container was traced: %s", k)
			}
		}
		if len(merged[0].Entries) == 0 {
			t.Error("the container's own opens were not traced")
		}
	})
	t.Run("uprobe in a pod", func(t *testing.T) {
		// The pod's container has a bash of its own (another file than
		// the node's): a uprobe on /usr/bin/bash must attach to it,
		// through the container's root, to see the container run.
		ctr := testenv.StartContainer(t, policy.CgroupRoot(), "while :; do read -t 0.05 x; done")
		c.addPod(t, "default", "shell", "node-1", "127.0.0.10", map[string]string{"app": "shell"}, []string{ctr.ID}, "")
		st, e := run(t, g, ExecRequest{
			Program: `uprobe:/usr/bin/bash:execute_command { @calls[pid] = count(); } interval:ms:1500 { exit(); }`,
			Target:  &PodTarget{Pod: "default/shell"},
		})
		if len(st.Nodes) != 1 || st.Nodes[0].Node != "node-1" {
			t.Fatalf("ran on %+v, want only node-1 where the pod runs", st.Nodes)
		}
		if e.Status != store.StatusCompleted {
			t.Fatalf("status %s: %s", e.Status, e.ErrorMessage)
		}
		var merged []MergedMap
		if err := json.Unmarshal([]byte(e.Maps), &merged); err != nil || len(merged) != 1 {
			t.Fatalf("maps %s: %v", e.Maps, err)
		}
		var pids []any
		for _, en := range merged[0].Entries {
			pids = append(pids, en.Key[0])
		}
		if !slices.Equal(pids, []any{int64(ctr.PID)}) {
			t.Errorf("the container's bash is pid %d; the uprobe saw %v", ctr.PID, pids)
		}
	})
}
