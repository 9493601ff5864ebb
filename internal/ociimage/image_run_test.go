//go:build image

// The image `make image` built, as a container runtime would run it: read
// back with go-containerregistry, unpacked (whiteouts applied), and run
// chrooted into the unpacked layers with the host's /proc, /sys and /dev
// bind-mounted: `bpftrace-mcp doctor`, then a real trace through the
// server's MCP stdio. The mounts are made in a private mount namespace, so
// they die with the process whatever way the test ends. Run it with
// `make test-image`, as root.
package ociimage

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
)

// The environment `make test-image` sets: the archive, and the name of
// the image in it.
const (
	envImage    = "BPFTRACE_MCP_TEST_IMAGE"
	envImageRef = "BPFTRACE_MCP_TEST_IMAGE_REF"
)

// inImage enters a fresh mount namespace, bind-mounts the host's /proc,
// /sys (with tracefs and debugfs under it) and /dev into root, and execs
// args chrooted into root: one process, whose mounts vanish with it.
func inImage(ctx context.Context, root string, args ...string) *exec.Cmd {
	script := `r=$0
for d in proc sys dev; do
	mount --rbind "/$d" "$r/$d" || { echo "cannot bind-mount /$d into $r" >&2; exit 125; }
done
exec chroot "$r" "$@"`
	cmd := exec.CommandContext(ctx, "unshare", append([]string{"--mount", "--propagation", "private", "/bin/sh", "-c", script, root}, args...)...)
	// Its own process group, so that what it starts goes with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// noMountsUnder fails the test if any mount point lies under dir in this
// process's mount namespace, and detaches it (lazily: it may be busy), so
// that a failure leaves nothing mounted behind either.
func noMountsUnder(t *testing.T, dir string) {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Errorf("read mountinfo: %v", err)
		return
	}
	var found []string
	for line := range strings.SplitSeq(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			found = append(found, f[4])
		}
	}
	// The deepest first: a parent cannot go before what is mounted on it.
	for i := len(found) - 1; i >= 0; i-- {
		if err := syscall.Unmount(found[i], syscall.MNT_DETACH); err != nil {
			t.Errorf("unmount %s: %v", found[i], err)
		}
	}
	if len(found) > 0 {
		t.Errorf("mounts were left under %s: %q", dir, found)
	}
}

func TestImage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: it mounts, chroots and runs bpftrace; run `make test-image` as root")
	}
	archive := os.Getenv(envImage)
	if archive == "" {
		t.Fatalf("$%s names no image archive: run `make test-image`, which builds one", envImage)
	}
	if _, err := os.Stat("/sys/kernel/tracing/available_events"); err != nil {
		if _, err := os.Stat("/sys/kernel/debug/tracing/available_events"); err != nil {
			t.Fatal("tracefs is not mounted: run `make setup`")
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()

	start := time.Now()
	img, err := OpenArchive(archive, t.TempDir(), os.Getenv(envImageRef))
	if err != nil {
		t.Fatal(err)
	}
	// validate.Fast checks the manifest, the configuration and the
	// descriptors; the layers' bytes are checked once each below (a full
	// validate.Image reads them several times: half a minute more).
	if err := validate.Image(img, validate.Fast); err != nil {
		t.Fatalf("the image does not validate: %v", err)
	}
	checkLayers(t, img)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != types.OCIManifestSchema1 || m.Config.MediaType != types.OCIConfigJSON || len(m.Layers) != 2 {
		t.Errorf("manifest %q, config %q, %d layers; want an OCI manifest and config and 2 layers", m.MediaType, m.Config.MediaType, len(m.Layers))
	}
	if got := cf.Config.Entrypoint; len(got) != 1 || got[0] != ServerPath {
		t.Errorf("Entrypoint = %q, want [%s]", got, ServerPath)
	}
	if name := cf.Config.Labels[LabelMCPServerName]; !strings.HasPrefix(name, "io.github.") || m.Annotations[LabelMCPServerName] != name {
		t.Errorf("label %s = %q, annotation %q: want the registry name (io.github.OWNER/NAME) in both", LabelMCPServerName, name, m.Annotations[LabelMCPServerName])
	}
	for _, k := range []string{LabelSource, LabelVersion, LabelRevision, LabelLicenses, LabelCreated, LabelBpftraceVersion} {
		if cf.Config.Labels[k] == "" {
			t.Errorf("the image has no label %s", k)
		}
	}
	// Debian's version, 0.23.2-1: bpftrace reports the upstream part.
	bpftraceVersion, _, _ := strings.Cut(cf.Config.Labels[LabelBpftraceVersion], "-")
	t.Logf("read back and validated in %s", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	root := t.TempDir()
	t.Cleanup(func() { noMountsUnder(t, root) })
	if err := Unpack(img, root); err != nil {
		t.Fatal(err)
	}
	t.Logf("unpacked in %s", time.Since(start).Round(time.Millisecond))

	t.Run("doctor", func(t *testing.T) {
		out, err := inImage(ctx, root, ServerPath, "doctor").CombinedOutput()
		if err != nil {
			t.Fatalf("bpftrace-mcp doctor in the image: %v\n%s", err, out)
		}
		t.Logf("doctor in the image:\n%s", out)
		if !strings.Contains(string(out), bpftraceVersion) {
			t.Errorf("doctor does not report the image's bpftrace %s:\n%s", bpftraceVersion, out)
		}
		noMountsUnder(t, root)
	})

	t.Run("trace", func(t *testing.T) {
		traceThroughServer(ctx, t, root, cf.Config.Cmd)
		noMountsUnder(t, root)
	})
}

// checkLayers reads each layer once compressed and once not, and checks
// its digest, size and diff id: the layout reader does not.
func checkLayers(t *testing.T, img v1.Image) {
	t.Helper()
	layers, err := img.Layers()
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range layers {
		digest, errD := l.Digest()
		diffID, errI := l.DiffID()
		size, errS := l.Size()
		if err := errors.Join(errD, errI, errS); err != nil {
			t.Fatal(err)
		}
		hash := func(open func() (io.ReadCloser, error)) (v1.Hash, int64) {
			rc, err := open()
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			h, n, err := v1.SHA256(rc)
			if err != nil {
				t.Fatalf("layer %d: %v", i, err)
			}
			return h, n
		}
		if h, n := hash(l.Compressed); h != digest || n != size {
			t.Errorf("layer %d: %s, %d bytes; the manifest says %s, %d bytes", i, h, n, digest, size)
		}
		if h, _ := hash(l.Uncompressed); h != diffID {
			t.Errorf("layer %d: uncompressed %s; the configuration says %s", i, h, diffID)
		}
	}
}

// traceThroughServer starts the image's server as its configuration says
// (entrypoint and default arguments: MCP on stdio), starts a trace of
// openat by cat through exec_program, opens a file no one else opens with
// cat, and reads the event back with get_result.
func traceThroughServer(ctx context.Context, t *testing.T, root string, cmdArgs []string) {
	srv := inImage(ctx, root, append([]string{ServerPath}, cmdArgs...)...)
	var stderr strings.Builder
	srv.Stderr = &stderr
	in, err := srv.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := srv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	t.Cleanup(func() {
		// Closing stdin ends a stdio server: it stops its traces and
		// leaves. Whatever is left of its process group is killed.
		in.Close()
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("the server in the image exited with %v\n%s", err, stderr.String())
			}
		case <-time.After(30 * time.Second):
			syscall.Kill(-srv.Process.Pid, syscall.SIGKILL)
			<-exited
			t.Errorf("the server in the image did not exit when its stdin closed:\n%s", stderr.String())
		}
	})

	c := &rpcClient{t: t, in: in, out: bufio.NewReaderSize(out, 1<<20)}
	c.call("initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "ociimage-test", "version": "1"}})
	c.notify("notifications/initialized")

	var rnd [8]byte
	rand.Read(rnd[:])
	mark := "/tmp/bpftrace-mcp-image-" + hex.EncodeToString(rnd[:])
	program := fmt.Sprintf(`tracepoint:syscalls:sys_enter_openat /str(args.filename) == "%s"/ { printf("opened %%s by %%s\n", str(args.filename), comm); exit(); }`, mark)
	var started struct {
		Status      string `json:"status"`
		ExecutionID string `json:"execution_id"`
		Message     string `json:"message"`
	}
	c.tool("exec_program", map[string]any{"program": program, "timeout": 60}, &started)
	if started.Status != "success" || started.ExecutionID == "" {
		t.Fatalf("exec_program in the image: %+v\n%s", started, stderr.String())
	}
	// exec_program answers once the probes are attached: every cat from
	// now on is seen. One is enough; more only cover a lost event.
	deadline := time.Now().Add(45 * time.Second)
	for {
		exec.CommandContext(ctx, "cat", mark).Run() // fails: the file does not exist, but cat opened it
		var res struct {
			Status       string   `json:"status"`
			EndReason    string   `json:"end_reason"`
			Output       []string `json:"output"`
			ErrorMessage string   `json:"error_message"`
		}
		c.tool("get_result", map[string]any{"execution_id": started.ExecutionID, "wait_seconds": 2}, &res)
		if res.Status != "running" {
			want := "opened " + mark + " by cat"
			if res.Status != "completed" || res.EndReason != "exit" || !strings.Contains(strings.Join(res.Output, "\n"), want) {
				t.Fatalf("the trace in the image ended %s (%s, %q), output %q; want completed by exit with %q",
					res.Status, res.EndReason, res.ErrorMessage, res.Output, want)
			}
			t.Logf("the trace in the image: %q", res.Output)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the trace in the image saw no cat opening %s in 45 s; output %q", mark, res.Output)
		}
	}
}

// rpcClient speaks MCP's JSON-RPC over the server's stdio, one message a
// line, as an MCP client does.
type rpcClient struct {
	t      *testing.T
	in     io.Writer
	out    *bufio.Reader
	lastID int
}

func (c *rpcClient) send(msg map[string]any) {
	c.t.Helper()
	msg["jsonrpc"] = "2.0"
	b, err := json.Marshal(msg)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := c.in.Write(append(b, '\n')); err != nil {
		c.t.Fatalf("write to the server: %v", err)
	}
}

func (c *rpcClient) notify(method string) {
	c.t.Helper()
	c.send(map[string]any{"method": method})
}

// call sends a request and returns its result, skipping the
// notifications that come before the answer.
func (c *rpcClient) call(method string, params any) json.RawMessage {
	c.t.Helper()
	c.lastID++
	c.send(map[string]any{"id": c.lastID, "method": method, "params": params})
	for {
		line, err := c.out.ReadBytes('\n')
		if err != nil {
			c.t.Fatalf("%s: the server's stdout ended: %v", method, err)
		}
		var msg struct {
			ID     *int            `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(line, &msg); err != nil {
			c.t.Fatalf("%s: the server wrote %q: %v", method, line, err)
		}
		if msg.ID == nil || *msg.ID != c.lastID {
			continue
		}
		if msg.Error != nil {
			c.t.Fatalf("%s: %s", method, msg.Error.Message)
		}
		return msg.Result
	}
}

// tool calls a tool and decodes its structured result into out.
func (c *rpcClient) tool(name string, args map[string]any, out any) {
	c.t.Helper()
	var res struct {
		IsError           bool            `json:"isError"`
		StructuredContent json.RawMessage `json:"structuredContent"`
		Content           []struct {
			Text string `json:"text"`
		} `json:"content"`
	}
	if err := json.Unmarshal(c.call("tools/call", map[string]any{"name": name, "arguments": args}), &res); err != nil {
		c.t.Fatal(err)
	}
	if res.IsError || res.StructuredContent == nil {
		c.t.Fatalf("%s failed: %+v", name, res.Content)
	}
	if err := json.Unmarshal(res.StructuredContent, out); err != nil {
		c.t.Fatalf("%s: %v", name, err)
	}
}
