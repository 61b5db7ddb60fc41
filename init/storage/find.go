package storage

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"tprouter/init/internal/oneline"
)

// find looks for the boot and persistent partitions. It waits for the
// partition the boot loader started from, when there is one, for up to
// s.Wait: USB disks appear a while after their driver loads. Without the
// boot loader's word it scans once, which costs a boot without disks
// nothing. notes say what was not as expected.
func (s *Storage) find() (boot, perm *Partition, notes []string) {
	loader := ""
	vars, err := s.efiVars(s.Sys)
	if err == nil && vars != "" {
		loader, err = loaderPartUUID(vars)
		if entry, _ := loaderString(vars, loaderEntrySelected); entry != "" {
			notes = append(notes, "systemd-boot booted loader entry "+entry)
		}
	}
	if err != nil {
		notes = append(notes, fmt.Sprintf("%v; looking for the boot partition by its name, %s", err, BootName))
	}
	parts, settling, errs := scan(s.Sys, s.Dev, s.disks)
	start := time.Now()
	for waiting(parts, settling, loader) && time.Since(start) < s.Wait {
		time.Sleep(pollInterval)
		parts, settling, errs = scan(s.Sys, s.Dev, s.disks)
	}
	boot, perm, more := choose(parts, loader, s.Wait)
	notes = append(notes, more...)
	if boot == nil && len(errs) > 0 {
		notes = append(notes, "unreadable partition tables: "+oneline.Join(errs...).Error())
	}
	return boot, perm, notes
}

// waiting reports whether find should look again: the partition the boot
// loader started from is not there yet, or it is (or, without the boot
// loader's word, the one named BootName is) and the kernel is still adding
// its disk's other partitions.
func waiting(parts []Partition, settling map[string]bool, loader string) bool {
	if loader != "" {
		boot := byUUID(parts, loader)
		return boot == nil || settling[boot.Disk]
	}
	return slices.ContainsFunc(byName(parts, "", BootName), func(p Partition) bool { return settling[p.Disk] })
}

// pollInterval is how often find looks for a disk that is not there yet.
const pollInterval = 50 * time.Millisecond

// choose picks the boot partition among parts: the one the boot loader
// started from (PARTUUID loader), else the one named BootName; and the
// persistent partition: the one named PermName on the boot partition's
// disk. A partition that is not found gets a note, one line each, unless
// nothing points at a disk at all (loader is "", no partition is named
// BootName): a kernel started without a boot disk.
func choose(parts []Partition, loader string, waited time.Duration) (boot, perm *Partition, notes []string) {
	if loader != "" {
		if boot = byUUID(parts, loader); boot == nil {
			notes = append(notes, fmt.Sprintf("the boot loader started from the partition with PARTUUID %s, which did not appear within %v "+
				"(the board's module list may lack its disk's driver); looking for a partition named %s instead", loader, waited, BootName))
		}
	}
	if boot == nil {
		named := byName(parts, "", BootName)
		if len(named) > 1 {
			notes = append(notes, fmt.Sprintf("%d partitions are named %s (%s): using %s; unplug the other disks",
				len(named), BootName, devs(named), named[0].Dev))
		}
		if len(named) > 0 {
			boot = &named[0]
		}
	}
	if boot == nil {
		return nil, nil, notes
	}
	named := byName(parts, boot.Disk, PermName)
	switch {
	case len(named) == 0:
		notes = append(notes, fmt.Sprintf("no partition named %s on %s, the boot partition's disk: the router keeps its state in memory "+
			"(the disk image has one: reflash it)", PermName, boot.Disk))
		return boot, nil, notes
	case len(named) > 1:
		notes = append(notes, fmt.Sprintf("%d partitions on %s are named %s (%s): using %s",
			len(named), boot.Disk, PermName, devs(named), named[0].Dev))
	}
	return boot, &named[0], notes
}

func byUUID(parts []Partition, uuid string) *Partition {
	i := slices.IndexFunc(parts, func(p Partition) bool { return p.UUID == uuid })
	if i < 0 {
		return nil
	}
	return &parts[i]
}

// byName returns the partitions called name, on disk if it is not "".
func byName(parts []Partition, disk, name string) []Partition {
	var named []Partition
	for _, p := range parts {
		if p.Name == name && (disk == "" || p.Disk == disk) {
			named = append(named, p)
		}
	}
	return named
}

func devs(parts []Partition) string {
	var d []string
	for _, p := range parts {
		d = append(d, p.Dev)
	}
	return strings.Join(d, ", ")
}
