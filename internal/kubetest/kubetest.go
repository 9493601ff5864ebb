// Package kubetest starts a real Kubernetes control plane for tests: etcd
// and kube-apiserver on loopback, with RBAC on and a token for an admin made
// up at run time. scripts/k8s-env.sh prepares both binaries once; `make
// test-k8s` runs it and passes their paths in KUBE_APISERVER and ETCD.
//
// Every process it starts dies with the test: it is killed in t.Cleanup and
// gets SIGKILL as its parent-death signal, so a test binary that is itself
// killed leaves nothing running.
package kubetest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// ControlPlane is a running etcd and kube-apiserver.
type ControlPlane struct {
	// Admin is a client configuration for a member of system:masters.
	Admin *rest.Config
	// URL is the API server's address, https://127.0.0.1:PORT.
	URL string
	// CAFile is the API server's serving certificate (self-signed), for
	// clients that verify it.
	CAFile string
	Client *kubernetes.Clientset
}

// Binaries returns the paths of kube-apiserver and etcd from the
// environment. Without them the test fails, never skips: `make test-k8s`
// always provides them, and a test that silently did nothing would prove
// nothing.
func Binaries(t testing.TB) (apiserver, etcd string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root, as the rest of the integration tests; run `make test-k8s` as root")
	}
	apiserver, etcd = os.Getenv("KUBE_APISERVER"), os.Getenv("ETCD")
	if apiserver == "" || etcd == "" {
		t.Fatal("KUBE_APISERVER and ETCD are not set: run these tests with `make test-k8s`, which builds both once (scripts/k8s-env.sh)")
	}
	return apiserver, etcd
}

// Start starts a control plane that lives as long as the test.
func Start(t testing.TB) *ControlPlane {
	t.Helper()
	apiserver, etcd := Binaries(t)
	dir := t.TempDir()
	etcdClient, etcdPeer, securePort := freePort(t), freePort(t), freePort(t)

	start(t, dir, "etcd", etcd,
		"--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", "http://127.0.0.1:"+etcdClient,
		"--advertise-client-urls", "http://127.0.0.1:"+etcdClient,
		"--listen-peer-urls", "http://127.0.0.1:"+etcdPeer,
		"--initial-advertise-peer-urls", "http://127.0.0.1:"+etcdPeer,
		"--initial-cluster", "default=http://127.0.0.1:"+etcdPeer,
		"--log-level", "warn")

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "sa.key"), "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	writePEM(t, filepath.Join(dir, "sa.pub"), "PUBLIC KEY", pub)
	// The admin's token is made up here, for this run only; it is never
	// printed.
	admin := randomHex(t, 32)
	if err := os.WriteFile(filepath.Join(dir, "tokens.csv"), []byte(admin+",kubetest-admin,kubetest-admin,system:masters\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	certDir := filepath.Join(dir, "certs")
	start(t, dir, "kube-apiserver", apiserver,
		"--etcd-servers", "http://127.0.0.1:"+etcdClient,
		"--secure-port", securePort,
		"--bind-address", "127.0.0.1",
		"--advertise-address", "127.0.0.1",
		// The kubernetes Service's endpoint would be this loopback address,
		// which the reconciler refuses; nothing here needs that Service.
		"--endpoint-reconciler-type", "none",
		"--cert-dir", certDir,
		"--service-account-issuer", "https://kubernetes.default.svc",
		"--service-account-key-file", filepath.Join(dir, "sa.pub"),
		"--service-account-signing-key-file", filepath.Join(dir, "sa.key"),
		"--token-auth-file", filepath.Join(dir, "tokens.csv"),
		"--authorization-mode", "Node,RBAC",
		"--service-cluster-ip-range", "10.0.0.0/24",
		"--allow-privileged",
		"--enable-admission-plugins", "PodSecurity,NamespaceLifecycle,ServiceAccount",
		"--disable-admission-plugins", "DefaultStorageClass,DefaultIngressClass,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy,MutatingAdmissionPolicy")

	cp := &ControlPlane{URL: "https://127.0.0.1:" + securePort, CAFile: filepath.Join(certDir, "apiserver.crt")}
	cp.Admin = &rest.Config{Host: cp.URL, BearerToken: admin, TLSClientConfig: rest.TLSClientConfig{Insecure: true}, QPS: 200, Burst: 400}
	waitReady(t, cp)
	cs, err := kubernetes.NewForConfig(cp.Admin)
	if err != nil {
		t.Fatal(err)
	}
	cp.Client = cs
	return cp
}

// ServiceAccountConfig creates a ServiceAccount (if it does not exist) and
// returns a client configuration that authenticates as it with a real token
// from the TokenRequest API, as a pod's projected token would.
func (cp *ControlPlane) ServiceAccountConfig(t testing.TB, namespace, name string) *rest.Config {
	t.Helper()
	ctx := context.Background()
	_, err := cp.Client.CoreV1().ServiceAccounts(namespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil && !isAlreadyExists(err) {
		t.Fatalf("create service account %s/%s: %v", namespace, name, err)
	}
	tr, err := cp.Client.CoreV1().ServiceAccounts(namespace).CreateToken(ctx, name,
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: new(int64(3600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("token for %s/%s: %v", namespace, name, err)
	}
	return &rest.Config{Host: cp.URL, BearerToken: tr.Status.Token, TLSClientConfig: rest.TLSClientConfig{CAFile: cp.CAFile}}
}

func start(t testing.TB, dir, name, bin string, args ...string) {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		_ = logf.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logf.Name()); err == nil {
				t.Logf("%s log (tail):\n%s", name, tail(b, 3000))
			}
		}
	})
}

func waitReady(t testing.TB, cp *ControlPlane) {
	t.Helper()
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: insecureTLS()}}
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest(http.MethodGet, cp.URL+"/readyz", nil)
		req.Header.Set("Authorization", "Bearer "+cp.Admin.BearerToken)
		if resp, err := hc.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("kube-apiserver was not ready within 90 s (its log follows)")
}

func freePort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func writePEM(t testing.TB, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// insecureTLS is for the readiness probe only: the serving certificate is
// made by kube-apiserver at start, on loopback.
func insecureTLS() *tls.Config { return &tls.Config{InsecureSkipVerify: true} } //nolint:gosec // loopback test server

func isAlreadyExists(err error) bool { return apierrors.IsAlreadyExists(err) }
