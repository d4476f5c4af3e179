package registry

import "testing"

func TestExtOrdered(t *testing.T) {
	mi := []byte(`22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,errors=remount-ro
30 27 254:16 / /data rw - ext4 /dev/vdb rw,noauto_da_alloc
31 27 254:32 / /wb rw - ext4 /dev/vdc rw,data=writeback
32 27 254:48 / /old rw - ext2 /dev/vdd rw
33 27 254:64 / /j rw - ext3 /dev/vde rw,data=journal
`)
	for _, c := range []struct {
		major, minor uint32
		want         bool
	}{{254, 0, true}, {254, 16, false}, {254, 32, false}, {254, 48, false}, {254, 64, true}, {8, 1, false}} {
		if got := extOrdered(mi, c.major, c.minor); got != c.want {
			t.Errorf("%d:%d: got %v, want %v", c.major, c.minor, got, c.want)
		}
	}
}
