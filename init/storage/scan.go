package storage

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Partition is a GPT partition the kernel has a device for.
type Partition struct {
	Dev    string // its device node: /dev/nvme0n1p2
	Disk   string // its disk's kernel name: nvme0n1
	Number int    // its entry in the disk's GPT, from 1
	Name   string // GPT partition name (PARTLABEL)
	Type   string // partition type GUID, lower case
	UUID   string // unique partition GUID (PARTUUID), lower case
}

func (p Partition) String() string { return p.Dev + " (" + p.Name + ")" }

// sysPart is a partition as sysfs shows it.
type sysPart struct {
	dev    string // device node name
	number int
	start  int64 // in 512-byte sectors
}

// scan lists the GPT partitions of the disks in sys/class/block that the
// kernel found partitions on, reading each disk's table from its device
// in dev: there is no udev (and no blkid) to ask. A disk without a GPT is
// skipped; errs has an error for each disk whose table is damaged or
// unreadable. With only set, only those disks are looked at. settling
// names the disks whose table has entries the kernel has no partition for
// yet: it adds a disk's partitions one by one.
func scan(sys, dev string, only []string) (parts []Partition, settling map[string]bool, errs []error) {
	dir := filepath.Join(sys, "class/block")
	names, err := readDirNames(dir)
	if err != nil {
		return nil, nil, []error{err}
	}
	disks := map[string][]sysPart{}
	for _, name := range names {
		n, err := readInt(filepath.Join(dir, name, "partition"))
		if err != nil {
			continue // a whole disk
		}
		target, err := filepath.EvalSymlinks(filepath.Join(dir, name))
		if err != nil {
			continue // gone meanwhile
		}
		disk := filepath.Base(filepath.Dir(target))
		if only != nil && !slices.Contains(only, disk) {
			continue
		}
		start, _ := readInt(filepath.Join(dir, name, "start"))
		disks[disk] = append(disks[disk], sysPart{dev: devName(dir, name), number: int(n), start: start})
	}
	for _, disk := range slices.Sorted(maps.Keys(disks)) {
		path := filepath.Join(dev, devName(dir, disk))
		es, sector, err := diskGPT(path, filepath.Join(dir, disk))
		if errors.Is(err, errNoGPT) {
			continue
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", path, err))
			continue
		}
		parts = append(parts, match(disk, dev, es, sector, disks[disk])...)
		if len(disks[disk]) < len(es) {
			if settling == nil {
				settling = map[string]bool{}
			}
			settling[disk] = true
		}
	}
	return parts, settling, errs
}

// match pairs a disk's GPT entries with the partitions the kernel made of
// them: entry i is partition i, and both must start at the same sector,
// or the table changed since the kernel read it.
func match(disk, dev string, es []entry, sector int64, sps []sysPart) []Partition {
	var parts []Partition
	for _, sp := range sps {
		i := slices.IndexFunc(es, func(e entry) bool { return e.Number == sp.number })
		if i < 0 || int64(es[i].FirstLBA)*(sector/512) != sp.start {
			continue
		}
		e := es[i]
		parts = append(parts, Partition{Dev: filepath.Join(dev, sp.dev), Disk: disk, Number: e.Number,
			Name: e.Name, Type: e.Type, UUID: e.UUID})
	}
	slices.SortFunc(parts, func(a, b Partition) int { return a.Number - b.Number })
	return parts
}

// diskGPT reads the GPT of the disk at path, whose sysfs directory is
// sys, and returns its entries and its sector size.
func diskGPT(path, sys string) ([]entry, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return nil, 0, err
	}
	sector, err := readInt(filepath.Join(sys, "queue/logical_block_size"))
	if err != nil || sector < 512 || sector > 64<<10 || sector%512 != 0 {
		sector = 512
	}
	es, err := readGPT(f, sector, size)
	return es, sector, err
}

// devName is the device node's name of the block device name in the
// sysfs directory dir (its uevent's DEVNAME), normally name itself.
func devName(dir, name string) string {
	f, err := os.Open(filepath.Join(dir, name, "uevent"))
	if err != nil {
		return name
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "DEVNAME="); ok && v != "" {
			return v
		}
	}
	return name
}

func readInt(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
}

func readDirNames(dir string) ([]string, error) {
	es, err := os.ReadDir(dir)
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names, err
}
