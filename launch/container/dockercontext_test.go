package container

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker/docker/client"
)

// engineSocket is the real engine the TLS proxy forwards to. CI has Docker:
// without it these tests fail, they do not skip.
const engineSocket = "/var/run/docker.sock"

const clientCN = "watchdog-test-client"

func requireEngine(t *testing.T) {
	t.Helper()
	if fi, err := os.Stat(engineSocket); err != nil || fi.Mode().Type() != os.ModeSocket {
		t.Fatalf("these tests need the Docker engine's socket %s: %v", engineSocket, err)
	}
}

// pki is a throwaway CA with a server certificate for 127.0.0.1 and a
// client certificate, all PEM.
type pki struct {
	caPEM, serverCert, serverKey, clientCert, clientKey []byte
	pool                                                *x509.CertPool
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	now := time.Now()
	caKey := genKey(t)
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "watchdog-test-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, ips []net.IP) (certPEM, keyPEM []byte) {
		key := genKey(t)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: cn},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  ips,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return pemCert(der), pemKey(t, key)
	}
	p := &pki{caPEM: pemCert(caDER), pool: x509.NewCertPool()}
	p.pool.AddCert(ca)
	p.serverCert, p.serverKey = issue(2, "127.0.0.1", x509.ExtKeyUsageServerAuth, []net.IP{net.ParseIP("127.0.0.1")})
	p.clientCert, p.clientKey = issue(3, clientCN, x509.ExtKeyUsageClientAuth, nil)
	return p
}

func genKey(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func pemKey(t *testing.T, k *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})
}

// tlsProxy is a TLS endpoint on 127.0.0.1 that requires and verifies a
// client certificate from the test CA, and forwards each accepted
// connection to the real engine's socket.
type tlsProxy struct {
	host     string       // tcp://127.0.0.1:PORT
	verified atomic.Int64 // connections whose client certificate was verified
	refused  chan error   // handshakes the proxy refused
}

func startProxy(t *testing.T, p *pki) *tlsProxy {
	t.Helper()
	requireEngine(t)
	pair, err := tls.X509KeyPair(p.serverCert, p.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{pair},
		ClientCAs:    p.pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	})
	if err != nil {
		t.Fatal(err)
	}
	px := &tlsProxy{host: "tcp://" + ln.Addr().String(), refused: make(chan error, 64)}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
	)
	track := func(c net.Conn) bool {
		mu.Lock()
		defer mu.Unlock()
		if conns == nil { // closing
			c.Close()
			return false
		}
		conns[c] = struct{}{}
		return true
	}
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		conns = nil
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if !track(c) {
				return
			}
			wg.Go(func() { px.serve(c.(*tls.Conn), track) })
		}
	})
	return px
}

func (px *tlsProxy) serve(c *tls.Conn, track func(net.Conn) bool) {
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.HandshakeContext(ctx); err != nil {
		px.refuse(err)
		return
	}
	st := c.ConnectionState()
	if len(st.VerifiedChains) == 0 || st.PeerCertificates[0].Subject.CommonName != clientCN {
		px.refuse(errors.New("client certificate not verified"))
		return
	}
	px.verified.Add(1)
	up, err := net.Dial("unix", engineSocket)
	if err != nil {
		return
	}
	defer up.Close()
	if !track(up) {
		return
	}
	done := make(chan struct{})
	go func() {
		io.Copy(up, c)
		up.(*net.UnixConn).CloseWrite()
		close(done)
	}()
	io.Copy(c, up)
	c.Close()
	<-done
}

func (px *tlsProxy) refuse(err error) {
	select {
	case px.refused <- err:
	default: // enough recorded
	}
}

// dockerConfig is a DOCKER_CONFIG directory with a context store.
type dockerConfig struct {
	t   *testing.T
	dir string
}

func newDockerConfig(t *testing.T) *dockerConfig {
	return &dockerConfig{t: t, dir: t.TempDir()}
}

// context writes context name as `docker context create` does: its
// metadata, and files (ca.pem, cert.pem, key.pem; nil: no TLS directory).
func (d *dockerConfig) context(name, host string, skipVerify bool, files map[string][]byte) {
	d.t.Helper()
	meta, err := json.Marshal(map[string]any{
		"Name":     name,
		"Metadata": map[string]any{},
		"Endpoints": map[string]any{
			"docker": map[string]any{"Host": host, "SkipTLSVerify": skipVerify},
		},
	})
	if err != nil {
		d.t.Fatal(err)
	}
	d.write(filepath.Join("contexts", "meta", contextID(name), "meta.json"), meta)
	if files != nil {
		tlsDir := filepath.Join("contexts", "tls", contextID(name), "docker")
		if err := os.MkdirAll(filepath.Join(d.dir, tlsDir), 0o700); err != nil {
			d.t.Fatal(err)
		}
		for f, b := range files {
			d.write(filepath.Join(tlsDir, f), b)
		}
	}
}

func (d *dockerConfig) write(rel string, b []byte) {
	d.t.Helper()
	p := filepath.Join(d.dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		d.t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o600); err != nil {
		d.t.Fatal(err)
	}
}

func (d *dockerConfig) currentContext(name string) {
	d.write("config.json", []byte(`{"auths": {}, "currentContext": "`+name+`"}`))
}

// use points the environment at d, with DOCKER_CONTEXT set to name (""
// unsets it) and no DOCKER_HOST or DOCKER_CERT_PATH.
func (d *dockerConfig) use(name string) {
	d.t.Helper()
	setenv(d.t, "DOCKER_CONFIG", d.dir)
	setenv(d.t, "DOCKER_CONTEXT", name)
	setenv(d.t, "DOCKER_HOST", "")
	setenv(d.t, "DOCKER_CERT_PATH", "")
	setenv(d.t, "DOCKER_TLS_VERIFY", "")
}

// setenv sets k for the test, or unsets it when v is "".
func setenv(t *testing.T, k, v string) {
	t.Helper()
	t.Setenv(k, v) // restored at the end of the test
	if v == "" {
		os.Unsetenv(k)
	}
}

func (p *pki) files() map[string][]byte {
	return map[string][]byte{"ca.pem": p.caPEM, "cert.pem": p.clientCert, "key.pem": p.clientKey}
}

func connect(t *testing.T) (*client.Client, error) {
	t.Helper()
	cli, err := Connect(context.Background())
	if err == nil {
		t.Cleanup(func() { cli.Close() })
	}
	return cli, err
}

// mustReachThroughProxy checks that Connect reached the engine through px
// with a verified client certificate, and that the engine answers.
func mustReachThroughProxy(t *testing.T, px *tlsProxy) {
	t.Helper()
	cli, err := connect(t)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	if cli.DaemonHost() != px.host {
		t.Errorf("client host %s, want the proxy %s", cli.DaemonHost(), px.host)
	}
	if n := px.verified.Load(); n < 1 {
		t.Fatalf("Ping answered but the proxy verified %d client connections", n)
	}
	v, err := cli.ServerVersion(context.Background())
	if err != nil || v.Version == "" {
		t.Fatalf("ServerVersion through the proxy: %+v, %v", v, err)
	}
}

func TestContextTLS(t *testing.T) {
	p := newPKI(t)
	px := startProxy(t, p)
	d := newDockerConfig(t)
	d.context("remote-tls", px.host, false, p.files())
	d.use("remote-tls")
	mustReachThroughProxy(t, px)
}

// TestContextSameAsDockerCLI checks the fixture against the docker CLI
// itself, when it is installed: the CLI reaches the engine through the
// proxy with the same context store.
func TestContextSameAsDockerCLI(t *testing.T) {
	p := newPKI(t)
	px := startProxy(t, p)
	docker, err := exec.LookPath("docker")
	if err != nil {
		t.Skip("no docker CLI to compare with")
	}
	d := newDockerConfig(t)
	d.context("remote-tls", px.host, false, p.files())
	d.use("remote-tls")
	out, err := exec.Command(docker, "version", "--format", "{{.Server.Version}}").CombinedOutput()
	if err != nil {
		t.Fatalf("docker version through the context: %v\n%s", err, out)
	}
	if px.verified.Load() < 1 {
		t.Fatalf("the docker CLI answered (%s) without going through the proxy", out)
	}
	mustReachThroughProxy(t, px)
}

func TestContextTLSCurrentContext(t *testing.T) {
	p := newPKI(t)
	px := startProxy(t, p)
	d := newDockerConfig(t)
	d.context("from-config", px.host, false, p.files())
	d.currentContext("from-config")
	d.use("")
	mustReachThroughProxy(t, px)
}

func TestContextPrecedence(t *testing.T) {
	p := newPKI(t)
	px := startProxy(t, p)
	d := newDockerConfig(t)
	d.context("good", px.host, false, p.files())
	d.currentContext("no-such-context")

	t.Run("DOCKER_CONTEXT beats currentContext", func(t *testing.T) {
		d.use("good")
		mustReachThroughProxy(t, px)
	})
	t.Run("DOCKER_HOST beats DOCKER_CONTEXT", func(t *testing.T) {
		d.use("no-such-context")
		setenv(t, "DOCKER_HOST", "unix://"+engineSocket)
		cli, err := connect(t)
		if err != nil {
			t.Fatalf("Connect: %v", err)
		}
		if cli.DaemonHost() != "unix://"+engineSocket {
			t.Errorf("host %s", cli.DaemonHost())
		}
	})
	t.Run("default is the local engine", func(t *testing.T) {
		d.use("default")
		cli, err := connect(t)
		if err != nil {
			t.Fatalf("Connect: %v", err)
		}
		if cli.DaemonHost() != client.DefaultDockerHost {
			t.Errorf("host %s, want %s", cli.DaemonHost(), client.DefaultDockerHost)
		}
	})
}

func TestContextSkipTLSVerify(t *testing.T) {
	p := newPKI(t)
	px := startProxy(t, p)
	d := newDockerConfig(t)
	// no ca.pem: the engine's certificate is not trusted unless skipped
	files := map[string][]byte{"cert.pem": p.clientCert, "key.pem": p.clientKey}
	d.context("skip", px.host, true, files)
	d.context("verify", px.host, false, files)

	d.use("verify")
	_, err := connect(t)
	var ee *EngineError
	if !errors.As(err, &ee) || ee.Host != px.host || ee.Context != "verify" {
		t.Fatalf("an engine certificate from an unknown CA: want an EngineError for %s, got %v", px.host, err)
	}
	d.use("skip")
	mustReachThroughProxy(t, px)
}

func TestContextWithoutClientCert(t *testing.T) {
	p := newPKI(t)
	px := startProxy(t, p)
	d := newDockerConfig(t)
	d.context("no-cert", px.host, false, map[string][]byte{"ca.pem": p.caPEM})
	d.use("no-cert")
	_, err := connect(t)
	if err == nil {
		t.Fatal("Connect succeeded without a client certificate")
	}
	var ee *EngineError
	tlsDir := filepath.Join(d.dir, "contexts", "tls", contextID("no-cert"), "docker")
	if !errors.As(err, &ee) || ee.Host != px.host || !strings.Contains(err.Error(), px.host) || !strings.Contains(err.Error(), "no-cert") || !strings.Contains(err.Error(), tlsDir) {
		t.Fatalf("want an EngineError naming %s and the context, got %T %v", px.host, err, err)
	}
	t.Logf("error: %v", err)
	select {
	case herr := <-px.refused:
		t.Logf("the proxy refused: %v", herr)
	case <-time.After(10 * time.Second):
		t.Fatal("the proxy saw no refused handshake")
	}
	if n := px.verified.Load(); n != 0 {
		t.Errorf("the proxy verified %d connections", n)
	}
}

// wantErr checks that err is a setup error (not an EngineError: nothing
// was dialled) that says each of the words.
func wantErr(t *testing.T, err error, words ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Connect succeeded; want an error saying %q", words)
	}
	t.Logf("error: %v", err)
	var ee *EngineError
	if errors.As(err, &ee) {
		t.Fatalf("want a context error, got an engine error: %v", err)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
}

func TestContextErrors(t *testing.T) {
	p := newPKI(t)
	host := "tcp://127.0.0.1:1" // never dialled: every case fails before
	t.Run("missing context", func(t *testing.T) {
		d := newDockerConfig(t)
		d.use("no-such-context")
		_, err := connect(t)
		wantErr(t, err, "no-such-context", "not found", "DOCKER_CONTEXT", "docker context ls")
	})
	t.Run("missing current context", func(t *testing.T) {
		d := newDockerConfig(t)
		d.currentContext("gone")
		d.use("")
		_, err := connect(t)
		wantErr(t, err, "gone", "not found", filepath.Join(d.dir, "config.json"), "docker context ls")
	})
	t.Run("corrupt config.json", func(t *testing.T) {
		d := newDockerConfig(t)
		d.write("config.json", []byte(`{"currentContext": `))
		d.use("")
		_, err := connect(t)
		wantErr(t, err, filepath.Join(d.dir, "config.json"), "not valid JSON")
	})
	t.Run("corrupt meta.json", func(t *testing.T) {
		d := newDockerConfig(t)
		d.write(filepath.Join("contexts", "meta", contextID("broken"), "meta.json"), []byte(`{"Name": "broken", "Endpoints": {`))
		d.use("broken")
		_, err := connect(t)
		wantErr(t, err, "broken", filepath.Join(d.dir, "contexts", "meta", contextID("broken"), "meta.json"), "docker context inspect broken")
	})
	t.Run("no docker endpoint", func(t *testing.T) {
		d := newDockerConfig(t)
		d.write(filepath.Join("contexts", "meta", contextID("k8s"), "meta.json"), []byte(`{"Name": "k8s", "Endpoints": {"kubernetes": {}}}`))
		d.use("k8s")
		_, err := connect(t)
		wantErr(t, err, "k8s", "no docker endpoint", "meta.json")
	})
	tlsFile := func(d *dockerConfig, name, f string) string {
		return filepath.Join(d.dir, "contexts", "tls", contextID(name), "docker", f)
	}
	t.Run("corrupt ca.pem", func(t *testing.T) {
		d := newDockerConfig(t)
		files := p.files()
		files["ca.pem"] = []byte("not a certificate\n")
		d.context("bad-ca", host, false, files)
		d.use("bad-ca")
		_, err := connect(t)
		wantErr(t, err, "bad-ca", tlsFile(d, "bad-ca", "ca.pem"), "docker context update bad-ca")
	})
	t.Run("corrupt key.pem", func(t *testing.T) {
		d := newDockerConfig(t)
		files := p.files()
		files["key.pem"] = []byte("garbage")
		d.context("bad-key", host, false, files)
		d.use("bad-key")
		_, err := connect(t)
		wantErr(t, err, "bad-key", tlsFile(d, "bad-key", "key.pem"))
	})
	t.Run("key does not match cert", func(t *testing.T) {
		d := newDockerConfig(t)
		files := p.files()
		files["key.pem"] = p.serverKey
		d.context("mismatch", host, false, files)
		d.use("mismatch")
		_, err := connect(t)
		wantErr(t, err, "mismatch", tlsFile(d, "mismatch", "cert.pem"), tlsFile(d, "mismatch", "key.pem"))
	})
	t.Run("ssh", func(t *testing.T) {
		d := newDockerConfig(t)
		d.context("over-ssh", "ssh://user@example.invalid", false, nil)
		d.use("over-ssh")
		_, err := connect(t)
		wantErr(t, err, "over-ssh", "ssh://user@example.invalid", "not supported")
	})
}
