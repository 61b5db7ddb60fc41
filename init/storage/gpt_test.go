package storage

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// TestReadGPT reads tables that sfdisk wrote and compares them with what
// sfdisk says is in them; then damages the primary table, and both.
func TestReadGPT(t *testing.T) {
	img := disk(t,
		part{name: BootName, typ: espType, uuid: "0b00b00b-0000-4000-8000-000000000001", mib: 1},
		part{name: PermName, typ: linuxType, mib: 1},
		part{name: "données ☃", typ: "ebd0a0a2-b9e5-4433-87c0-68b6b72699c7", mib: 1},
	)
	want := sfdiskParts(t, img)
	if len(want) != 3 || want[2].Name != "données ☃" {
		t.Fatalf("sfdisk --json: %+v", want)
	}
	read := func() ([]entry, error) {
		f, err := os.Open(img)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		st, _ := f.Stat()
		return readGPT(f, 512, st.Size())
	}
	got, err := read()
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("readGPT = %+v, %v\nwant (sfdisk) %+v", got, err, want)
	}

	// A damaged primary header: the backup at the last LBA has it all.
	f, _ := os.OpenFile(img, os.O_RDWR, 0)
	f.WriteAt([]byte("garbage!"), 512+24)
	f.Close()
	if got, err := read(); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("with the primary header damaged: %+v, %v; want the backup's %+v", got, err, want)
	}
	// Both damaged: an error naming both.
	f, _ = os.OpenFile(img, os.O_RDWR, 0)
	st, _ := f.Stat()
	f.WriteAt([]byte("garbage!"), st.Size()-512+24)
	f.Close()
	if got, err := read(); err == nil || errors.Is(err, errNoGPT) {
		t.Errorf("with both headers damaged: %+v, %v; want an error", got, err)
	} else {
		t.Log(err)
	}
}

// TestScan4K scans a disk with 4096-byte sectors, whose GPT is at byte
// 4096 and counts its LBAs in 4096-byte units.
func TestScan4K(t *testing.T) {
	img := filepath.Join(t.TempDir(), "4k.img")
	run(t, "", "truncate", "-s", "16M", img)
	name := loop(t, img, "-b", "4096")
	run(t, "label: gpt\nstart=256, size=1024, type="+espType+", name="+BootName+", uuid=0b00b00b-0000-4000-8000-00000000004b\n"+
		"start=1280, size=1024, type="+linuxType+", name="+PermName+"\n", "sfdisk", "-q", "/dev/"+name)
	readPartitions(t, name)
	parts, settling, errs := scan("/sys", "/dev", []string{name})
	want := []Partition{
		{Dev: "/dev/" + name + "p1", Disk: name, Number: 1, Name: BootName, Type: espType, UUID: "0b00b00b-0000-4000-8000-00000000004b"},
		{Dev: "/dev/" + name + "p2", Disk: name, Number: 2, Name: PermName, Type: linuxType},
	}
	if len(parts) == 2 {
		want[1].UUID = parts[1].UUID // sfdisk's
	}
	if !reflect.DeepEqual(parts, want) || settling != nil || errs != nil {
		t.Errorf("scan = %+v, settling %v, %v\nwant %+v", parts, settling, errs, want)
	}
}

func TestReadGPTNone(t *testing.T) {
	img := disk(t)
	run(t, "label: dos\nstart=2048, size=2048, type=83\n", "sfdisk", "-q", img)
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if es, err := readGPT(f, 512, 2<<20); !errors.Is(err, errNoGPT) {
		t.Errorf("an MBR disk: %+v, %v; want errNoGPT", es, err)
	}
	blank := make([]byte, 1<<20)
	if es, err := readGPT(readerAt(blank), 512, int64(len(blank))); !errors.Is(err, errNoGPT) {
		t.Errorf("a blank disk: %+v, %v; want errNoGPT", es, err)
	}
}

// FuzzReadGPT: no disk contents make readGPT panic or allocate without
// bound. The seed is a real table.
func FuzzReadGPT(f *testing.F) {
	f.Add(gptSeed(f), int64(512))
	f.Add([]byte("EFI PART"), int64(4096))
	f.Fuzz(func(t *testing.T, b []byte, sector int64) {
		if sector != 4096 {
			sector = 512
		}
		readGPT(readerAt(b), sector, int64(len(b)))
	})
}

// gptSeed returns the first 34 sectors of a disk with a GPT that sfdisk
// wrote.
func gptSeed(f *testing.F) []byte {
	f.Helper()
	img := disk(f, part{name: BootName, typ: espType, mib: 1})
	b, err := os.ReadFile(img)
	if err != nil {
		f.Fatal(err)
	}
	return b[:34*512]
}

type readerAt []byte

func (r readerAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= int64(len(r)) {
		return 0, errors.New("out of range")
	}
	n := copy(p, r[off:])
	if n < len(p) {
		return n, errors.New("short")
	}
	return n, nil
}
