package disk

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"tprouter/qemu/lab"
)

// needTools stops t when a tool the tests read images with is missing.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	pkgs := map[string]string{"sfdisk": "fdisk", "sgdisk": "gdisk", "fsck.fat": "dosfstools",
		"mkfs.fat": "dosfstools", "mcopy": "mtools", "mdir": "mtools", "e2fsck": "e2fsprogs",
		"mkfs.ext4": "e2fsprogs", "debugfs": "e2fsprogs", "dumpe2fs": "e2fsprogs"}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			lab.Unavailable(t, tool+" not found: install "+pkgs[tool]+" (make deps)")
		}
	}
}

func testTable() *Table {
	return &Table{
		Disk:    mustGUID("01234567-89AB-CDEF-0123-456789ABCDEF"),
		Sectors: 8192,
		Partitions: []Partition{
			{Type: ESPType, GUID: mustGUID("11111111-2222-4333-8444-555555555555"), First: 2048, Last: 4095, Name: "tprouter-boot"},
			{Type: LinuxType, GUID: mustGUID("66666666-7777-4888-9999-AAAAAAAAAAAA"), First: 4096, Last: 6143, Name: "pérm ünïcode"},
		},
	}
}

// TestTable writes a table and reads it back three ways: with ReadTable,
// with sfdisk --json, and with sgdisk -v, which checks the protective MBR,
// both headers, both entry arrays and their checksums.
func TestTable(t *testing.T) {
	needTools(t, "sfdisk", "sgdisk")
	want := testTable()
	img := filepath.Join(t.TempDir(), "t.img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(int64(want.Sectors) * SectorSize); err != nil {
		t.Fatal(err)
	}
	if err := want.Write(f); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTable(f, int64(want.Sectors)*SectorSize)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReadTable = %+v, want %+v", got, want)
	}
	checkSfdisk(t, img, want)
	out, err := exec.Command("sgdisk", "-v", img).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "No problems found") {
		t.Errorf("sgdisk -v %s: %v\n%s", img, err, out)
	}
}

// checkSfdisk compares sfdisk's reading of img's table with want.
func checkSfdisk(t *testing.T, img string, want *Table) {
	t.Helper()
	out, err := exec.Command("sfdisk", "--json", img).Output()
	if err != nil {
		t.Fatalf("sfdisk --json %s: %v", img, err)
	}
	var sf struct {
		PartitionTable struct {
			Label, ID         string
			FirstLBA, LastLBA uint64
			SectorSize        int
			Partitions        []struct {
				Start, Size      uint64
				Type, UUID, Name string
			}
		}
	}
	if err := json.Unmarshal(out, &sf); err != nil {
		t.Fatalf("sfdisk --json: %v\n%s", err, out)
	}
	pt := sf.PartitionTable
	if pt.Label != "gpt" || pt.ID != want.Disk.String() || pt.SectorSize != SectorSize ||
		pt.FirstLBA != 34 || pt.LastLBA != want.Sectors-34 || len(pt.Partitions) != len(want.Partitions) {
		t.Fatalf("sfdisk reads %s as:\n%s", img, out)
	}
	for i, p := range pt.Partitions {
		w := want.Partitions[i]
		if p.Start != w.First || p.Size != w.Last-w.First+1 || p.Type != w.Type.String() || p.UUID != w.GUID.String() || p.Name != w.Name {
			t.Errorf("sfdisk reads partition %d as %+v, want %+v", i+1, p, w)
		}
	}
}

// TestTableDamage checks that ReadTable notices a damaged header or entry
// array, and that Write refuses a table that cannot be.
func TestTableDamage(t *testing.T) {
	tab := testTable()
	for _, off := range []int64{SectorSize + 8 /* revision */, 2*SectorSize + 40 /* the first entry's last sector */} {
		img := filepath.Join(t.TempDir(), "t.img")
		f, err := os.Create(img)
		if err != nil {
			t.Fatal(err)
		}
		f.Truncate(int64(tab.Sectors) * SectorSize)
		if err := tab.Write(f); err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 1)
		f.ReadAt(b, off)
		f.WriteAt([]byte{^b[0]}, off)
		if got, err := ReadTable(f, int64(tab.Sectors)*SectorSize); err == nil {
			t.Errorf("byte %d damaged: ReadTable = %+v, want an error", off, got)
		}
		f.Close()
	}
	for _, bad := range []func(*Table){
		func(t *Table) { t.Partitions[1].First = 4000 },     // overlaps
		func(t *Table) { t.Partitions[1].Last = 8192 - 33 }, // in the backup entries
		func(t *Table) { t.Partitions[0].First = 33 },       // in the primary entries
		func(t *Table) { t.Partitions[0].Name = strings.Repeat("x", 37) },
	} {
		tab := testTable()
		bad(tab)
		if err := tab.Write(nil); err == nil {
			t.Errorf("Write of %+v: no error", tab.Partitions)
		}
	}
	if _, err := ParseGUID("C12A7328-F81F-11D2-BA4B-00A0C93EC93"); err == nil {
		t.Errorf("ParseGUID of a short GUID: no error")
	}
	if g := ESPType.String(); g != "C12A7328-F81F-11D2-BA4B-00A0C93EC93B" {
		t.Errorf("ESPType = %s", g)
	}
	if ESPType[0] != 0x28 || ESPType[15] != 0x3B {
		t.Errorf("ESPType is stored as % x, want the first field little endian", ESPType[:])
	}
}
