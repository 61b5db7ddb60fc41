package storage

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"tprouter/qemu/lab"
)

// GPT partition types of the disk image.
const (
	espType   = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b"
	linuxType = "0fc63daf-8483-4772-8e79-3d69d8477de4"
)

// part is a partition of a test disk image, 1 MiB aligned.
type part struct {
	name, typ, uuid string // GPT name, type and PARTUUID ("": sfdisk's choice)
	mib             int
	fs              string            // "vfat", "ext4" or "" (blank)
	files           map[string]string // written on a vfat partition
}

// disk makes a disk image file with parts, as the disk image is made:
// sfdisk, then mkfs.fat, mtools and mkfs.ext4 on the partitions' offsets,
// without root. It returns the image's path.
func disk(t testing.TB, parts ...part) string {
	t.Helper()
	need(t, "sfdisk", "mkfs.fat", "mcopy", "mkfs.ext4")
	img := filepath.Join(t.TempDir(), "disk.img")
	total := 2 // the GPTs and alignment
	script := "label: gpt\nunit: sectors\nfirst-lba: 2048\n"
	start := 2048
	for _, p := range parts {
		script += fmt.Sprintf("start=%d, size=%d, type=%s, name=%q", start, p.mib*2048, p.typ, p.name)
		if p.uuid != "" {
			script += ", uuid=" + p.uuid
		}
		script += "\n"
		start += p.mib * 2048
		total += p.mib
	}
	run(t, "", "truncate", "-s", fmt.Sprintf("%dM", total), img)
	run(t, script, "sfdisk", "-q", img)
	start = 2048
	for _, p := range parts {
		off := start * 512
		switch p.fs {
		case "vfat":
			run(t, "", "mkfs.fat", "--offset", fmt.Sprint(start), "-n", "TPROUTER", img, fmt.Sprint(p.mib*1024))
			for name, text := range p.files {
				src := filepath.Join(t.TempDir(), "f")
				os.WriteFile(src, []byte(text), 0o644)
				run(t, "", "mcopy", "-i", fmt.Sprintf("%s@@%d", img, off), src, "::"+name)
			}
		case "ext4":
			run(t, "", "mkfs.ext4", "-q", "-F", "-L", PermName, "-E", fmt.Sprintf("offset=%d", off), img, fmt.Sprintf("%dk", p.mib*1024))
		}
		start += p.mib * 2048
	}
	return img
}

// image is the disk image's layout, small.
func image(bootUUID string, files map[string]string) []part {
	return []part{
		{name: BootName, typ: espType, uuid: bootUUID, mib: 34, fs: "vfat", files: files},
		{name: PermName, typ: linuxType, mib: 8, fs: "ext4"},
	}
}

// attach attaches img to a loop device and returns the device's name
// (loop3); the kernel's partitions of it appear as loop3p1 and so on.
func attach(t *testing.T, img string, args ...string) string {
	t.Helper()
	name := loop(t, img, args...)
	readPartitions(t, name)
	return name
}

// loop attaches img to a loop device with losetup's args, and detaches it
// when the test ends.
func loop(t *testing.T, img string, args ...string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		lab.Unavailable(t, "needs root for loop devices")
	}
	need(t, "losetup", "partx")
	var dev string
	for i := 0; ; i++ { // losetup -f races with other processes taking loop devices
		out, err := exec.Command("losetup", append(append([]string{"-P", "-f", "--show"}, args...), img)...).CombinedOutput()
		if err == nil {
			dev = strings.TrimSpace(string(out))
			break
		}
		if i == 5 {
			t.Fatalf("losetup -P -f --show %s: %v\n%s", img, err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Cleanup(func() { exec.Command("losetup", "-d", dev).Run() })
	return filepath.Base(dev)
}

// readPartitions makes sure the kernel has the partitions of loop device
// name. A kernel without GPT support in its partition scanner gets them
// from partx, as userspace tools would add them.
func readPartitions(t *testing.T, name string) {
	t.Helper()
	if _, err := os.Stat("/sys/class/block/" + name + "p1"); err != nil {
		run(t, "", "partx", "-a", "/dev/"+name)
	}
}

func need(t testing.TB, progs ...string) {
	t.Helper()
	for _, p := range progs {
		if _, err := exec.LookPath(p); err != nil {
			lab.Unavailable(t, p+" not found: install fdisk, dosfstools, mtools, e2fsprogs and util-linux")
		}
	}
}

func run(t testing.TB, stdin string, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// sfdiskParts is what sfdisk --json says of an image's partitions.
func sfdiskParts(t testing.TB, img string) []entry {
	t.Helper()
	var dump struct {
		PartitionTable struct {
			Partitions []struct {
				Node       string
				Start      uint64
				Type, UUID string
				Name       string
			}
		}
	}
	if err := json.Unmarshal([]byte(run(t, "", "sfdisk", "--json", img)), &dump); err != nil {
		t.Fatal(err)
	}
	var es []entry
	for _, p := range dump.PartitionTable.Partitions {
		n, _ := strconv.Atoi(strings.TrimPrefix(p.Node, img))
		es = append(es, entry{Number: n, Type: strings.ToLower(p.Type), UUID: strings.ToLower(p.UUID), FirstLBA: p.Start, Name: p.Name})
	}
	return es
}
