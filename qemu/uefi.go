package qemu

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"tprouter/image/disk"
)

// Debian's OVMF (package ovmf): the UEFI firmware, read only, and the
// empty variable store that each VM gets a copy of. The 4M build pairs
// them for q35 (/usr/share/qemu/firmware/60-edk2-x86_64.json); without
// Secure Boot, which the unsigned systemd-boot needs off.
const (
	OVMFCode = "/usr/share/OVMF/OVMF_CODE_4M.fd"
	OVMFVars = "/usr/share/OVMF/OVMF_VARS_4M.fd"
)

// FirmwareBoots is what OVMF prints on the console when it starts a boot
// option's loader (systemd-boot): the end of the firmware's own start.
const FirmwareBoots = "BdsDxe: starting Boot"

// diskID is QEMU's name of the disk drive (info blockstats).
const diskID = "disk0"

// uefi returns QEMU's arguments that boot o.Disk under OVMF on q35, the
// disk on NVMe, which the kernels of both boards have built in or load
// (the cloud kernel lacks AHCI). It writes o.Cmdline into the disk's
// loader entry and the variable store into dir unless o.Vars names one.
func (o Options) uefi(dir string) ([]string, error) {
	for _, f := range []string{OVMFCode, OVMFVars} {
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("UEFI firmware: %w (install ovmf: make deps)", err)
		}
	}
	if _, err := os.Stat(o.Disk); err != nil {
		return nil, fmt.Errorf("disk image: %w (build it with: make disk)", err)
	}
	if o.Cmdline != "" {
		if err := setOptions(o.Disk, o.Cmdline); err != nil {
			return nil, err
		}
	}
	vars := o.Vars
	if vars == "" {
		vars = filepath.Join(dir, "vars.fd")
	}
	if err := newVars(vars); err != nil {
		return nil, err
	}
	return []string{
		"-machine", "q35",
		"-drive", "if=pflash,format=raw,unit=0,readonly=on,file=" + OVMFCode,
		"-drive", "if=pflash,format=raw,unit=1,file=" + vars,
		"-drive", "if=none,id=" + diskID + ",format=raw,file=" + o.Disk,
		"-device", "nvme,drive=" + diskID + ",serial=tprouter0,bootindex=0",
	}, nil
}

// newVars copies OVMFVars to name unless name exists.
func newVars(name string) error {
	if _, err := os.Stat(name); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	b, err := os.ReadFile(OVMFVars)
	if err != nil {
		return err
	}
	return os.WriteFile(name, b, 0o644)
}

// setOptions replaces the keys of the options line of img's loader entry
// that extra has and adds the others, as mergeCmdline does for -append.
func setOptions(img, extra string) error {
	entry, err := disk.ReadFile(img, disk.EntryA)
	if err != nil {
		return err
	}
	lines := strings.Split(string(entry), "\n")
	found := false
	for i, line := range lines {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "options")
		if !ok || rest == "" || !strings.ContainsRune(" \t", rune(rest[0])) {
			continue
		}
		merged, err := mergeCmdline(rest, extra)
		if err != nil {
			return err
		}
		lines[i], found = "options "+merged, true
	}
	if !found {
		return fmt.Errorf("%s: %s has no options line", img, disk.EntryA)
	}
	if joined := strings.Join(lines, "\n"); joined != string(entry) {
		return disk.WriteFile(img, disk.EntryA, []byte(joined))
	}
	return nil
}
