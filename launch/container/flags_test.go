package container

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// --gpus as docker/cli's opts/gpus.go reads it.
func TestParseGPUs(t *testing.T) {
	gpu := [][]string{{"gpu"}}
	for v, want := range map[string]container.DeviceRequest{
		"all":                                {Count: -1, Capabilities: gpu, Options: map[string]string{}},
		"2":                                  {Count: 2, Capabilities: gpu, Options: map[string]string{}},
		"count=all":                          {Count: -1, Capabilities: gpu, Options: map[string]string{}},
		"driver=nvidia":                      {Driver: "nvidia", Count: 1, Capabilities: gpu, Options: map[string]string{}},
		`"device=0,GPU-3a23c669"`:            {DeviceIDs: []string{"0", "GPU-3a23c669"}, Capabilities: gpu, Options: map[string]string{}},
		`"capabilities=compute,utility",all`: {Count: -1, Capabilities: [][]string{{"compute", "utility", "gpu"}}, Options: map[string]string{}},
		`1,"options=a=1,b=2",driver=acme`:    {Driver: "acme", Count: 1, Capabilities: gpu, Options: map[string]string{"a": "1", "b": "2"}},
	} {
		got, err := ParseGPUs(v)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v %v, want %+v", v, got, err, want)
		}
	}
	for _, v := range []string{"banana", "", "-2", "count=x", "all,2", "all,count=2", "foo=1", `"device=0`} {
		if _, err := ParseGPUs(v); err == nil || !strings.HasPrefix(err.Error(), "invalid ") {
			t.Errorf("%q: %v, want an error", v, err)
		}
	}
}

func TestParsePlatform(t *testing.T) {
	for v, want := range map[string]ocispec.Platform{
		"linux":           {OS: "linux"},
		"amd64":           {Architecture: "amd64"},
		"x86_64":          {Architecture: "amd64"},
		"linux/amd64":     {OS: "linux", Architecture: "amd64"},
		"Linux/AArch64":   {OS: "linux", Architecture: "arm64"},
		"linux/arm64/v8":  {OS: "linux", Architecture: "arm64"},
		"linux/arm":       {OS: "linux", Architecture: "arm", Variant: "v7"},
		"linux/armhf":     {OS: "linux", Architecture: "arm", Variant: "v7"},
		"linux/arm/v6":    {OS: "linux", Architecture: "arm", Variant: "v6"},
		"windows/amd64":   {OS: "windows", Architecture: "amd64"},
		"linux/riscv64":   {OS: "linux", Architecture: "riscv64"},
		"linux/amd64/v3":  {OS: "linux", Architecture: "amd64", Variant: "v3"},
		"freebsd/i386":    {OS: "freebsd", Architecture: "386"},
		"linux/x86-64/v1": {OS: "linux", Architecture: "amd64"},
		"linux/ppc64le":   {OS: "linux", Architecture: "ppc64le"},
		"macos/arm64":     {OS: "darwin", Architecture: "arm64"},
		"linux/s390x":     {OS: "linux", Architecture: "s390x"},
		"linux/mips64le":  {OS: "linux", Architecture: "mips64le"},
		"linux/loong64":   {OS: "linux", Architecture: "loong64"},
	} {
		got, err := ParsePlatform(v)
		if err != nil || !reflect.DeepEqual(*got, want) {
			t.Errorf("%s: %+v %v, want %+v", v, got, err, want)
		}
	}
	for _, v := range []string{"", "/", "//", "linux/", "/amd64", "a/b/c/d", "linux/am d64", "banana", "linux:amd64", "linux/arm64/v8.2"} {
		if _, err := ParsePlatform(v); err == nil || !strings.HasPrefix(err.Error(), "invalid ") {
			t.Errorf("%q: %v, want an error", v, err)
		}
	}
}

func TestParseMount(t *testing.T) {
	wd, _ := os.Getwd()
	for v, want := range map[string]mount.Mount{
		"type=bind,source=/a,target=/b":           {Type: mount.TypeBind, Source: "/a", Target: "/b"},
		"type=bind,src=rel/dir,dst=/b,ro":         {Type: mount.TypeBind, Source: filepath.Join(wd, "rel/dir"), Target: "/b", ReadOnly: true},
		"type=bind,src=.,destination=/b,ro=false": {Type: mount.TypeBind, Source: wd, Target: "/b"},
		"type=bind,src=/a,dst=/b,bind-propagation=rshared": {Type: mount.TypeBind, Source: "/a", Target: "/b",
			BindOptions: &mount.BindOptions{Propagation: mount.PropagationRShared}},
		"target=/v":                         {Type: mount.TypeVolume, Target: "/v"},
		"src=data,dst=/v,volume-nocopy":     {Type: mount.TypeVolume, Source: "data", Target: "/v", VolumeOptions: &mount.VolumeOptions{NoCopy: true}},
		"type=tmpfs,dst=/t,tmpfs-size=64m":  {Type: mount.TypeTmpfs, Target: "/t", TmpfsOptions: &mount.TmpfsOptions{SizeBytes: 64 << 20}},
		"type=tmpfs,dst=/t,tmpfs-mode=1770": {Type: mount.TypeTmpfs, Target: "/t", TmpfsOptions: &mount.TmpfsOptions{Mode: 0o1770}},
		`"type=bind","src=/a,b",dst=/c`:     {Type: mount.TypeBind, Source: "/a,b", Target: "/c"},
		"Type=TMPFS,Target=/t,READONLY":     {Type: mount.TypeTmpfs, Target: "/t", ReadOnly: true},
	} {
		got, err := ParseMount(v)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: %+v %v, want %+v", v, got, err, want)
		}
	}
	for _, v := range []string{
		"", "type=tmpfs", "type=bind,dst=/x", "type=nfs,dst=/x", "type=tmpfs,dst=/x,size=1m", "type=tmpfs,dst=x",
		"type=tmpfs,dst=/x,tmpfs-size=lots", "type=tmpfs,dst=/x,tmpfs-mode=9", "type=tmpfs,dst=/x,ro=maybe",
		"type=tmpfs,src=/a,dst=/x", "type=bind,src=/a,dst=/x,tmpfs-size=1m", "type=tmpfs,dst=/x,volume-nocopy",
		"type=volume,dst=/x,bind-propagation=shared", "type=bind,src=/a,dst=/x,bind-propagation=up", "dst=/x,novalue",
	} {
		if _, err := ParseMount(v); err == nil || !strings.HasPrefix(err.Error(), "invalid ") {
			t.Errorf("%q: %v, want an error", v, err)
		}
	}
}

func TestParsePublishAndCaps(t *testing.T) {
	set, bindings, err := ParsePublish([]string{"127.0.0.1:8080:80", "9000-9001/udp", "[::1]::443"})
	if err != nil || len(set) != 4 || bindings["80/tcp"][0].HostIP != "127.0.0.1" || bindings["80/tcp"][0].HostPort != "8080" ||
		len(bindings["9001/udp"]) != 1 || bindings["443/tcp"][0].HostIP != "::1" {
		t.Errorf("ParsePublish: %v %v %v", set, bindings, err)
	}
	if set, bindings, err := ParsePublish(nil); set != nil || bindings != nil || err != nil {
		t.Errorf("ParsePublish(nil): %v %v %v", set, bindings, err)
	}
	if _, _, err := ParsePublish([]string{"80", "x"}); err == nil || !strings.HasPrefix(err.Error(), "invalid ‘x’") {
		t.Errorf("ParsePublish x: %v", err)
	}
	if caps, err := ParseCaps([]string{"NET_ADMIN", "cap_sys_time", "ALL"}); err != nil || len(caps) != 3 {
		t.Errorf("ParseCaps: %v %v", caps, err)
	}
	for _, c := range []string{"", "CAP_", "NET ADMIN", "net-admin"} {
		if _, err := ParseCaps([]string{c}); err == nil {
			t.Errorf("ParseCaps %q: no error", c)
		}
	}
}
