package container

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/docker/client"

	"github.com/watchdog-run/watchdog/supervise"
)

// The docker CLI's context store, read by hand (linking github.com/docker/cli
// would cost far more than these few files are worth). The layout and the
// rules are the CLI's (cli/context/store, cli/context/docker/load.go,
// cli/command/cli.go):
//
//	$DOCKER_CONFIG/config.json                       {"currentContext": NAME}
//	$DOCKER_CONFIG/contexts/meta/ID/meta.json        {"Name", "Endpoints": {"docker": {"Host", "SkipTLSVerify"}}}
//	$DOCKER_CONFIG/contexts/tls/ID/docker/ca.pem     (any subset of the three)
//	$DOCKER_CONFIG/contexts/tls/ID/docker/cert.pem
//	$DOCKER_CONFIG/contexts/tls/ID/docker/key.pem
//
// where DOCKER_CONFIG defaults to ~/.docker and ID is the hex SHA-256 of NAME.
const (
	envDockerContext = "DOCKER_CONTEXT"
	envDockerConfig  = "DOCKER_CONFIG"
	defaultContext   = "default"
	dockerEndpoint   = "docker"
)

// dockerContext is a docker CLI context resolved to its engine endpoint.
type dockerContext struct {
	Name string
	Host string // "" leaves the client's default host, as the CLI does
	// TLS is the endpoint's TLS configuration; nil when the context has
	// neither TLS files nor SkipTLSVerify, or its host is a local socket.
	TLS *tls.Config
	// TLSDir is the directory of the endpoint's TLS files, when it has one.
	TLSDir string
}

// currentDockerContext resolves the context the docker CLI would use, in
// the CLI's order: DOCKER_HOST set means the default context; then
// DOCKER_CONTEXT; then currentContext in config.json; "default" (or nothing)
// is the local default, for which it returns nil. A context that is named
// but cannot be read is an error, never a silent fall back to the local
// engine.
func currentDockerContext() (*dockerContext, error) {
	if os.Getenv(client.EnvOverrideHost) != "" {
		return nil, nil
	}
	cfgDir := dockerConfigDir()
	name, source := os.Getenv(envDockerContext), envDockerContext
	if name == "" && cfgDir != "" {
		cfgFile := filepath.Join(cfgDir, "config.json")
		b, err := os.ReadFile(cfgFile)
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("docker CLI configuration %s: %v; fix it, or choose the engine with DOCKER_CONTEXT or DOCKER_HOST",
				supervise.Quote(cfgFile), err)
		}
		var cfg struct {
			CurrentContext string `json:"currentContext"`
		}
		if err := json.Unmarshal(b, &cfg); err != nil {
			return nil, fmt.Errorf("docker CLI configuration %s is not valid JSON (%v); fix it, or choose the engine with DOCKER_CONTEXT or DOCKER_HOST",
				supervise.Quote(cfgFile), err)
		}
		name, source = cfg.CurrentContext, "currentContext in "+supervise.Quote(cfgFile)
	}
	if name == "" || name == defaultContext {
		return nil, nil
	}
	if cfgDir == "" {
		return nil, fmt.Errorf("docker context %s (from %s): no home directory to find the docker CLI configuration in; set DOCKER_CONFIG, or DOCKER_HOST",
			supervise.Quote(name), source)
	}
	return loadDockerContext(filepath.Join(cfgDir, "contexts"), name, source)
}

// dockerConfigDir is the CLI's configuration directory: DOCKER_CONFIG, or
// ~/.docker; "" when there is no home directory.
func dockerConfigDir() string {
	if d := os.Getenv(envDockerConfig); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "" // no $HOME; os/user is not worth linking for this
	}
	return filepath.Join(home, ".docker")
}

// contextID is the directory name the CLI stores a context under.
func contextID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

// loadDockerContext reads context name (named by source) from the store
// rooted at storeDir ($DOCKER_CONFIG/contexts).
func loadDockerContext(storeDir, name, source string) (*dockerContext, error) {
	id := contextID(name)
	q := supervise.Quote(name)
	metaFile := filepath.Join(storeDir, "meta", id, "meta.json")
	b, err := os.ReadFile(metaFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("docker context %s (from %s) not found: there is no %s; list the contexts with `docker context ls`, or choose another with DOCKER_CONTEXT or DOCKER_HOST",
			q, source, supervise.Quote(metaFile))
	}
	if err != nil {
		return nil, fmt.Errorf("docker context %s: %v", q, err)
	}
	var meta struct {
		Endpoints map[string]json.RawMessage `json:"Endpoints"`
	}
	var ep struct {
		Host          string `json:"Host"`
		SkipTLSVerify bool   `json:"SkipTLSVerify"`
	}
	err = json.Unmarshal(b, &meta)
	raw, ok := meta.Endpoints[dockerEndpoint]
	if err == nil && ok {
		err = json.Unmarshal(raw, &ep)
	}
	if err != nil {
		return nil, fmt.Errorf("docker context %s: %s is not valid context metadata (%v); check it with `docker context inspect %s`, or remove and recreate the context",
			q, supervise.Quote(metaFile), err, name)
	}
	if !ok {
		return nil, fmt.Errorf("docker context %s has no docker endpoint in %s; check it with `docker context inspect %s`",
			q, supervise.Quote(metaFile), name)
	}
	c := &dockerContext{Name: name, Host: ep.Host}
	if c.Host == "" {
		return c, nil
	}
	proto, _, _ := strings.Cut(c.Host, "://")
	switch proto {
	case "unix", "npipe", "fd":
		// a local socket: no TLS, as in the CLI
		return c, nil
	case "ssh":
		return nil, fmt.Errorf("docker context %s uses %s: ssh:// engines are not supported; forward the engine's socket (ssh -L) and use a tcp:// context, or set DOCKER_HOST",
			q, supervise.Quote(c.Host))
	}
	dir := filepath.Join(storeDir, "tls", id, dockerEndpoint)
	c.TLS, err = contextTLS(dir, name, ep.SkipTLSVerify)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dir); err == nil {
		c.TLSDir = dir
	}
	return c, nil
}

// contextTLS builds the endpoint's TLS configuration from the files in dir
// as the CLI does: the directory's presence means TLS; ca.pem replaces the
// system roots; cert.pem and key.pem, both present, are the client
// certificate; SkipTLSVerify skips verifying the engine's certificate.
// Without the directory and SkipTLSVerify it returns nil: plain TCP.
func contextTLS(dir, name string, skipVerify bool) (*tls.Config, error) {
	q := supervise.Quote(name)
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		if !skipVerify {
			return nil, nil
		}
		err = nil
	}
	if err != nil {
		return nil, fmt.Errorf("docker context %s: reading its TLS files: %v", q, err)
	}
	files := map[string][]byte{}
	for _, e := range entries {
		switch n := e.Name(); n {
		case "ca.pem", "cert.pem", "key.pem":
			if e.IsDir() {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, n))
			if err != nil {
				return nil, fmt.Errorf("docker context %s: %v", q, err)
			}
			files[n] = b
		}
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: skipVerify}
	if ca, ok := files["ca.pem"]; ok {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(ca) {
			return nil, fmt.Errorf("docker context %s: %s holds no valid PEM certificate; give the context the engine's CA: %s",
				q, supervise.Quote(filepath.Join(dir, "ca.pem")), updateHint(name))
		}
		cfg.RootCAs = pool
	}
	cert, hasCert := files["cert.pem"]
	key, hasKey := files["key.pem"]
	if hasCert && hasKey {
		certFile, keyFile := supervise.Quote(filepath.Join(dir, "cert.pem")), supervise.Quote(filepath.Join(dir, "key.pem"))
		block, _ := pem.Decode(key)
		if block == nil {
			return nil, fmt.Errorf("docker context %s: %s holds no PEM private key; give the context its client key: %s",
				q, keyFile, updateHint(name))
		}
		if _, enc := block.Headers["DEK-Info"]; enc || block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, fmt.Errorf("docker context %s: %s is encrypted, which the docker CLI does not support either; give the context an unencrypted key: %s",
				q, keyFile, updateHint(name))
		}
		pair, err := tls.X509KeyPair(cert, key)
		if err != nil {
			return nil, fmt.Errorf("docker context %s: client certificate %s with key %s: %v; give the context a matching pair: %s",
				q, certFile, keyFile, err, updateHint(name))
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// updateHint is how the user gives a context its TLS files.
func updateHint(name string) string {
	return fmt.Sprintf("docker context update %s --docker \"host=HOST,ca=CA.pem,cert=CERT.pem,key=KEY.pem\"", name)
}

// clientOpts configures a client for the context as the CLI does: its host,
// an HTTP client with its TLS configuration when it has one (WithHost then
// sets the transport's dialer and proxy, as for any tcp:// host), and
// DOCKER_API_VERSION; DOCKER_CERT_PATH and DOCKER_TLS_VERIFY do not apply.
func (c *dockerContext) clientOpts() []client.Opt {
	opts := []client.Opt{client.WithVersionFromEnv()}
	if c.TLS != nil {
		opts = append(opts, client.WithHTTPClient(&http.Client{
			Transport:     &http.Transport{TLSClientConfig: c.TLS},
			CheckRedirect: client.CheckRedirect,
		}))
	}
	if c.Host != "" {
		opts = append(opts, client.WithHost(c.Host))
	}
	return opts
}
