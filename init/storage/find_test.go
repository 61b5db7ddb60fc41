package storage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf16"
)

func TestChoose(t *testing.T) {
	esp := func(disk, uuid string) Partition {
		return Partition{Dev: "/dev/" + disk + "p1", Disk: disk, Number: 1, Name: BootName, Type: espType, UUID: uuid}
	}
	perm := func(disk string) Partition {
		return Partition{Dev: "/dev/" + disk + "p2", Disk: disk, Number: 2, Name: PermName, Type: linuxType}
	}
	other := Partition{Dev: "/dev/sda1", Disk: "sda", Number: 1, Name: "EFI system partition", Type: espType, UUID: "aaaa"}
	for _, tt := range []struct {
		what       string
		parts      []Partition
		loader     string
		boot, perm string   // devices
		notes      []string // what the notes say; none without
	}{
		{what: "no disks", parts: nil},
		{what: "someone else's disk", parts: []Partition{other}},
		{what: "the image", parts: []Partition{esp("nvme0n1", "b1"), perm("nvme0n1")}, boot: "/dev/nvme0n1p1", perm: "/dev/nvme0n1p2"},
		{what: "the image, booted from", parts: []Partition{other, esp("nvme0n1", "b1"), perm("nvme0n1")}, loader: "b1",
			boot: "/dev/nvme0n1p1", perm: "/dev/nvme0n1p2"},
		// systemd-boot's word wins over the name, and /perm is on that disk.
		{what: "two sticks", parts: []Partition{esp("sda", "b1"), perm("sda"), esp("sdb", "b2"), perm("sdb")}, loader: "b2",
			boot: "/dev/sdbp1", perm: "/dev/sdbp2"},
		{what: "booted from another ESP", parts: []Partition{other, perm("sda")}, loader: "aaaa", boot: "/dev/sda1", perm: "/dev/sdap2"},
		{what: "two sticks, no loader", parts: []Partition{esp("sda", "b1"), perm("sda"), esp("sdb", "b2")},
			boot: "/dev/sdap1", perm: "/dev/sdap2", notes: []string{"2 partitions are named tprouter-boot (/dev/sdap1, /dev/sdbp1): using /dev/sdap1"}},
		{what: "the boot disk is missing", parts: []Partition{esp("sda", "b1"), perm("sda")}, loader: "b9",
			boot: "/dev/sdap1", perm: "/dev/sdap2", notes: []string{"PARTUUID b9, which did not appear within 5s", "looking for a partition named tprouter-boot instead"}},
		{what: "nothing at all, but a loader", parts: []Partition{other}, loader: "b9",
			notes: []string{"PARTUUID b9, which did not appear"}},
		// Never another disk's /perm.
		{what: "no perm", parts: []Partition{esp("sda", "b1"), perm("sdb")}, boot: "/dev/sdap1",
			notes: []string{"no partition named tprouter-perm on sda, the boot partition's disk: the router keeps its state in memory"}},
	} {
		t.Run(tt.what, func(t *testing.T) {
			boot, perm, notes := choose(tt.parts, tt.loader, 5*time.Second)
			if dev(boot) != tt.boot || dev(perm) != tt.perm {
				t.Errorf("boot %s, perm %s; want %q and %q", dev(boot), dev(perm), tt.boot, tt.perm)
			}
			if len(tt.notes) == 0 && len(notes) > 0 {
				t.Errorf("notes %q, want none", notes)
			}
			all := strings.Join(notes, "\n")
			for _, n := range tt.notes {
				if !strings.Contains(all, n) {
					t.Errorf("notes %q lack %q", notes, n)
				}
			}
		})
	}
}

func dev(p *Partition) string {
	if p == nil {
		return ""
	}
	return p.Dev
}

// efivar writes an EFI variable file as efivarfs shows it: attributes,
// then the value.
func efivar(t *testing.T, dir, name, value string) {
	t.Helper()
	b := []byte{6, 0, 0, 0} // BOOTSERVICE_ACCESS | RUNTIME_ACCESS
	for _, u := range utf16.Encode([]rune(value)) {
		b = append(b, byte(u), byte(u>>8))
	}
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoaderPartUUID(t *testing.T) {
	dir := t.TempDir()
	if got, err := loaderPartUUID(dir); got != "" || err != nil {
		t.Errorf("without the variable: %q, %v; want nothing", got, err)
	}
	efivar(t, dir, loaderDevicePartUUID, "6C1971E1-144E-8941-A75F-FEE0A63AB4F8\x00")
	if got, err := loaderPartUUID(dir); got != "6c1971e1-144e-8941-a75f-fee0a63ab4f8" || err != nil {
		t.Errorf("loaderPartUUID = %q, %v", got, err)
	}
	efivar(t, dir, loaderDevicePartUUID, "not a GUID")
	if got, err := loaderPartUUID(dir); err == nil || !strings.Contains(err.Error(), "not a GUID") {
		t.Errorf("a bad value: %q, %v; want an error", got, err)
	}
	os.WriteFile(filepath.Join(dir, loaderDevicePartUUID), []byte{6, 0}, 0o644)
	if _, err := loaderPartUUID(dir); err == nil {
		t.Error("a short file: no error")
	}
}

// TestEFIVarsBIOS: without /sys/firmware/efi (a BIOS boot) there are no
// variables and nothing is mounted.
func TestEFIVarsBIOS(t *testing.T) {
	if dir, err := efiVars(t.TempDir()); dir != "" || err != nil {
		t.Errorf("efiVars without firmware/efi: %q, %v", dir, err)
	}
}
