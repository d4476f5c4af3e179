package container

// Parsers for docker run's options that docker-run takes as they are:
// -p, --mount, --cap-add/--cap-drop, --gpus and --platform. Each checks
// its value before anything is made; its error says what is wrong with
// the value, and the caller puts the option's name in front.

import (
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/go-connections/nat"
	units "github.com/docker/go-units"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/watchdog-run/watchdog/supervise"
)

// ParsePublish reads -p values, [IP:][HOST_PORT:]CONTAINER_PORT[/PROTO]
// with port ranges (8000-8010:80-90), as docker run does.
func ParsePublish(specs []string) (nat.PortSet, nat.PortMap, error) {
	if len(specs) == 0 {
		return nil, nil, nil
	}
	for _, s := range specs {
		// One at a time, to name the value that is wrong.
		if _, _, err := nat.ParsePortSpecs([]string{s}); err != nil {
			return nil, nil, fmt.Errorf("invalid %s: %v (want [IP:][HOST_PORT:]CONTAINER_PORT[/tcp|udp|sctp])", supervise.Quote(s), err)
		}
	}
	return nat.ParsePortSpecs(specs)
}

// ParseMount reads one --mount value as docker run does: comma-separated
// KEY=VALUE fields (CSV, so a field may be quoted), type bind, volume
// (the default) or tmpfs. A relative bind source is made absolute.
func ParseMount(v string) (mount.Mount, error) {
	m := mount.Mount{Type: mount.TypeVolume}
	bad := func(format string, a ...any) (mount.Mount, error) {
		return mount.Mount{}, fmt.Errorf("invalid %s: %s", supervise.Quote(v), fmt.Sprintf(format, a...))
	}
	r := csv.NewReader(strings.NewReader(v))
	fields, err := r.Read()
	if err != nil {
		return bad("%v", err)
	}
	var tmpfsOpt, volumeOpt, bindOpt string
	for _, f := range fields {
		key, val, hasVal := strings.Cut(f, "=")
		key = strings.ToLower(strings.TrimSpace(key))
		if !hasVal {
			switch key {
			case "readonly", "ro":
				m.ReadOnly = true
				continue
			case "volume-nocopy":
				if m.VolumeOptions == nil {
					m.VolumeOptions = &mount.VolumeOptions{}
				}
				m.VolumeOptions.NoCopy, volumeOpt = true, key
				continue
			}
			return bad("field %s is not KEY=VALUE", supervise.Quote(f))
		}
		switch key {
		case "type":
			switch t := mount.Type(strings.ToLower(val)); t {
			case mount.TypeBind, mount.TypeVolume, mount.TypeTmpfs:
				m.Type = t
			default:
				return bad("type %s: want bind, volume or tmpfs", supervise.Quote(val))
			}
		case "source", "src":
			m.Source = val
		case "target", "dst", "destination":
			m.Target = val
		case "readonly", "ro":
			if m.ReadOnly, err = strconv.ParseBool(val); err != nil {
				return bad("%s=%s: want true or false", key, supervise.Quote(val))
			}
		case "bind-propagation":
			switch p := mount.Propagation(strings.ToLower(val)); p {
			case mount.PropagationRPrivate, mount.PropagationPrivate, mount.PropagationRShared,
				mount.PropagationShared, mount.PropagationRSlave, mount.PropagationSlave:
				m.BindOptions, bindOpt = &mount.BindOptions{Propagation: p}, key
			default:
				return bad("bind-propagation %s: want rprivate, private, rshared, shared, rslave or slave", supervise.Quote(val))
			}
		case "volume-nocopy":
			b, err := strconv.ParseBool(val)
			if err != nil {
				return bad("%s=%s: want true or false", key, supervise.Quote(val))
			}
			if m.VolumeOptions == nil {
				m.VolumeOptions = &mount.VolumeOptions{}
			}
			m.VolumeOptions.NoCopy, volumeOpt = b, key
		case "tmpfs-size":
			n, err := units.RAMInBytes(val)
			if err != nil || n <= 0 {
				return bad("tmpfs-size %s: want a size such as 64m", supervise.Quote(val))
			}
			if m.TmpfsOptions == nil {
				m.TmpfsOptions = &mount.TmpfsOptions{}
			}
			m.TmpfsOptions.SizeBytes, tmpfsOpt = n, key
		case "tmpfs-mode":
			n, err := strconv.ParseUint(val, 8, 32)
			if err != nil {
				return bad("tmpfs-mode %s: want an octal mode such as 1777", supervise.Quote(val))
			}
			if m.TmpfsOptions == nil {
				m.TmpfsOptions = &mount.TmpfsOptions{}
			}
			m.TmpfsOptions.Mode, tmpfsOpt = os.FileMode(n), key
		default:
			return bad("unknown key %s (want type, source, target, readonly, tmpfs-size, tmpfs-mode, bind-propagation or volume-nocopy)", supervise.Quote(key))
		}
	}
	switch {
	case m.Target == "":
		return bad("no target (target=PATH in the container)")
	case !strings.HasPrefix(m.Target, "/"):
		return bad("the target must be an absolute path")
	case m.Type == mount.TypeBind && m.Source == "":
		return bad("a bind mount needs source=PATH")
	case m.Type == mount.TypeTmpfs && m.Source != "":
		return bad("a tmpfs mount takes no source")
	case tmpfsOpt != "" && m.Type != mount.TypeTmpfs:
		return bad("%s is for type=tmpfs only", tmpfsOpt)
	case volumeOpt != "" && m.Type != mount.TypeVolume:
		return bad("%s is for type=volume only", volumeOpt)
	case bindOpt != "" && m.Type != mount.TypeBind:
		return bad("%s is for type=bind only", bindOpt)
	}
	if m.Type == mount.TypeBind && !filepath.IsAbs(m.Source) {
		abs, err := filepath.Abs(m.Source)
		if err != nil {
			return bad("%v", err)
		}
		m.Source = abs
	}
	return m, nil
}

// ParseCaps checks --cap-add and --cap-drop values: ALL or a capability
// name, with or without CAP_ (the engine checks that it knows it).
func ParseCaps(caps []string) ([]string, error) {
	var out []string
	for _, c := range caps {
		name := strings.TrimPrefix(strings.ToUpper(c), "CAP_")
		ok := name != ""
		for _, r := range name {
			ok = ok && (r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_')
		}
		if !ok {
			return nil, fmt.Errorf("invalid %s: want a capability such as NET_ADMIN, or ALL", supervise.Quote(c))
		}
		out = append(out, c)
	}
	return out, nil
}

// ParseGPUs reads a --gpus value as docker run does (docker/cli's
// opts/gpus.go): all, a count, or CSV fields count=, device=, driver=,
// capabilities=, options=.
func ParseGPUs(v string) (container.DeviceRequest, error) {
	req := container.DeviceRequest{}
	bad := func(format string, a ...any) (container.DeviceRequest, error) {
		return req, fmt.Errorf("invalid %s: %s", supervise.Quote(v), fmt.Sprintf(format, a...))
	}
	fields, err := csv.NewReader(strings.NewReader(v)).Read()
	if err != nil {
		return bad("%v", err)
	}
	count := func(s string) (int, error) {
		if s == "all" {
			return -1, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < -1 { // -1: all, as the API has it
			return 0, errors.New("want all, a number of GPUs, or device=ID[,ID...]")
		}
		return n, nil
	}
	seen := map[string]bool{}
	for _, f := range fields {
		key, val, hasVal := strings.Cut(f, "=")
		if seen[key] {
			return bad("%s given twice", supervise.Quote(key))
		}
		seen[key] = true
		if !hasVal {
			if seen["count"] {
				return bad("more than one count")
			}
			seen["count"] = true
			if req.Count, err = count(key); err != nil {
				return bad("%v", err)
			}
			continue
		}
		switch key {
		case "driver":
			req.Driver = val
		case "count":
			if req.Count, err = count(val); err != nil {
				return bad("%v", err)
			}
		case "device":
			req.DeviceIDs = strings.Split(val, ",")
		case "capabilities":
			req.Capabilities = [][]string{append(strings.Split(val, ","), "gpu")}
		case "options":
			opts, err := csv.NewReader(strings.NewReader(val)).Read()
			if err != nil {
				return bad("options: %v", err)
			}
			req.Options = map[string]string{}
			for _, o := range opts {
				k, v, _ := strings.Cut(o, "=")
				req.Options[k] = v
			}
		default:
			return bad("unknown key %s (want count, device, driver, capabilities or options)", supervise.Quote(key))
		}
	}
	if !seen["count"] && req.DeviceIDs == nil {
		req.Count = 1
	}
	if req.Options == nil {
		req.Options = map[string]string{}
	}
	if req.Capabilities == nil {
		req.Capabilities = [][]string{{"gpu"}}
	}
	return req, nil
}

// ParsePlatform reads --platform OS[/ARCH[/VARIANT]] as containerd's
// platforms.Parse does, with the usual aliases (x86_64, aarch64). One
// word is an OS if it is known as one, else an architecture; what is left
// out the engine fills in.
func ParsePlatform(v string) (*ocispec.Platform, error) {
	bad := func(why string) (*ocispec.Platform, error) {
		return nil, fmt.Errorf("invalid %s: %s (want OS[/ARCH[/VARIANT]], e.g. linux/amd64)", supervise.Quote(v), why)
	}
	parts := strings.Split(strings.ToLower(v), "/")
	if len(parts) > 3 {
		return bad("too many parts")
	}
	for _, p := range parts {
		if p == "" {
			return bad("an empty part")
		}
		for _, r := range p {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
				return bad(fmt.Sprintf("%s is not a platform part", supervise.Quote(p)))
			}
		}
	}
	p := &ocispec.Platform{}
	switch len(parts) {
	case 1:
		if knownOS[parts[0]] {
			p.OS = parts[0]
			return p, nil
		}
		p.Architecture, p.Variant = normalizeArch(parts[0], "")
		if !knownArch[p.Architecture] {
			return bad("unknown operating system or architecture")
		}
		return p, nil
	case 2:
		p.OS = normalizeOS(parts[0])
		p.Architecture, p.Variant = normalizeArch(parts[1], "")
	default:
		p.OS = normalizeOS(parts[0])
		p.Architecture, p.Variant = normalizeArch(parts[1], parts[2])
	}
	return p, nil
}

// formatPlatform is p as --platform takes it.
func formatPlatform(p *ocispec.Platform) string {
	return path.Join(p.OS, p.Architecture, p.Variant)
}

var knownOS = map[string]bool{
	"aix": true, "android": true, "darwin": true, "dragonfly": true, "freebsd": true, "illumos": true,
	"ios": true, "js": true, "linux": true, "netbsd": true, "openbsd": true, "plan9": true,
	"solaris": true, "wasip1": true, "windows": true, "zos": true,
}

var knownArch = map[string]bool{
	"386": true, "amd64": true, "amd64p32": true, "arm": true, "armbe": true, "arm64": true, "arm64be": true,
	"loong64": true, "mips": true, "mipsle": true, "mips64": true, "mips64le": true, "mips64p32": true,
	"mips64p32le": true, "ppc": true, "ppc64": true, "ppc64le": true, "riscv": true, "riscv64": true,
	"s390": true, "s390x": true, "sparc": true, "sparc64": true, "wasm": true,
}

func normalizeOS(os string) string {
	if os == "macos" {
		return "darwin"
	}
	return os
}

// normalizeArch maps the aliases containerd knows to Go's names.
func normalizeArch(arch, variant string) (string, string) {
	switch arch {
	case "i386":
		return "386", ""
	case "x86_64", "x86-64", "amd64":
		if variant == "v1" {
			variant = ""
		}
		return "amd64", variant
	case "aarch64", "arm64":
		if variant == "8" || variant == "v8" {
			variant = ""
		}
		return "arm64", variant
	case "armhf":
		return "arm", "v7"
	case "armel":
		return "arm", "v6"
	case "arm":
		switch variant {
		case "", "7":
			variant = "v7"
		case "5", "6", "8":
			variant = "v" + variant
		}
		return "arm", variant
	}
	return arch, variant
}
