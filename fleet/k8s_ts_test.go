//go:build k8s

package fleet

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

var listeningRE = regexp.MustCompile(`msg=listening url=(\S+)`)

// TestK8sFleetTypeScript runs `bpftrace-mcp fleet --http` as it is
// deployed, but on loopback: it finds the agents through the real API
// server with the gateway ServiceAccount's token (a kubeconfig), reaches
// two real agents, and serves MCP with a named token. The official
// TypeScript SDK client then drives it (test/interop/e2e-fleet.mjs).
func TestK8sFleetTypeScript(t *testing.T) {
	interop, err := filepath.Abs("../test/interop")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(interop, "node_modules", "@modelcontextprotocol", "sdk")); err != nil {
		t.Fatalf("the pinned TypeScript SDK is not installed (%v): run `make interop-deps`, as `make test-k8s` does", err)
	}
	c := newCluster(t)
	rc := c.gatewayConfig(t)
	nodes := []string{"node-1", "node-2"}
	for i, n := range nodes {
		c.addNode(t, n, nil)
		c.startAgent(t, n, fmt.Sprintf("127.0.0.%d", i+2))
	}

	kubeconfig := filepath.Join(c.dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: {server: %q, certificate-authority: %q}
users:
- name: gateway
  user: {token: %q}
contexts:
- name: test
  context: {cluster: test, user: gateway}
current-context: test
`, rc.Host, rc.TLSClientConfig.CAFile, rc.BearerToken)), 0o600); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	token := hex.EncodeToString(b)
	tokens := filepath.Join(c.dir, "gateway-tokens")
	if err := os.WriteFile(tokens, []byte("alice:operator:"+token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	gw := exec.Command(c.bin, "fleet", "--http", "127.0.0.1:0", "--kubeconfig", kubeconfig, "--namespace", ns,
		"--selector", "app.kubernetes.io/component=agent", "--fleet-secret", c.secretFile, "--insecure-agents",
		"--db", filepath.Join(c.dir, "fleet.db"), "--tokens", tokens)
	gw.Env = append(os.Environ(), "KUBECONFIG=")
	stderr, err := gw.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	gw.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := gw.Start(); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	found := make(chan string, 1)
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if m := listeningRE.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() {
		_ = syscall.Kill(-gw.Process.Pid, syscall.SIGTERM)
		<-logged
		_ = gw.Wait()
		if t.Failed() {
			t.Logf("gateway log:\n%s", log.String())
		}
	})
	var url string
	select {
	case url = <-found:
	case <-time.After(60 * time.Second):
		t.Fatal("the gateway logged no url in 60 s")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	node := exec.CommandContext(ctx, "node", append([]string{filepath.Join(interop, "e2e-fleet.mjs"), url}, nodes...)...)
	node.Env = append(os.Environ(), "BPFTRACE_MCP_FLEET_TOKEN="+token)
	out, err := node.CombinedOutput()
	t.Logf("e2e-fleet.mjs:\n%s", out)
	if err != nil || !strings.Contains(string(out), "E2E FLEET OK") {
		t.Fatalf("the TypeScript client's checks failed: %v", err)
	}
}
