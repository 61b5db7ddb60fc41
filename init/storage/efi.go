package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"golang.org/x/sys/unix"
)

// loaderDevicePartUUID is systemd-boot's variable that names the PARTUUID
// of the EFI system partition it was started from (the Boot Loader
// Interface), in efivarfs's file naming: name-vendorGUID.
const loaderDevicePartUUID = "LoaderDevicePartUUID-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"

// loaderEntrySelected names the loader entry systemd-boot booted (its
// file name in loader/entries): which slot is running.
const loaderEntrySelected = "LoaderEntrySelected-4a67b082-0a4c-41cf-b6c7-440b29bb8c4f"

const efivarfsMagic = 0xde5e81e4 // EFIVARFS_MAGIC, linux/magic.h

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// efiVars mounts efivarfs under sys, if the machine booted through UEFI,
// and returns its directory; "" without UEFI (a BIOS boot, QEMU's default).
func efiVars(sys string) (string, error) {
	efi := filepath.Join(sys, "firmware/efi")
	if _, err := os.Stat(efi); err != nil {
		return "", nil
	}
	dir := filepath.Join(efi, "efivars")
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) == nil && uint32(st.Type) == efivarfsMagic {
		return dir, nil
	}
	// Read-only: init only reads the boot loader's variables.
	err := unix.Mount("efivarfs", dir, "efivarfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "")
	if errors.Is(err, unix.ENODEV) {
		return "", fmt.Errorf("mount efivarfs on %s: %w (the board's module list must name efivarfs)", dir, err)
	}
	if err != nil {
		return "", fmt.Errorf("mount efivarfs on %s: %w", dir, err)
	}
	return dir, nil
}

// loaderPartUUID reads systemd-boot's LoaderDevicePartUUID from the
// efivarfs directory vars: the PARTUUID of the partition it started
// from, lower case, or "" when the variable is not there (another boot
// loader, or the kernel started directly).
func loaderPartUUID(vars string) (string, error) {
	s, err := loaderString(vars, loaderDevicePartUUID)
	if err != nil || s == "" {
		return "", err
	}
	s = strings.ToLower(s)
	if !guidRE.MatchString(s) {
		return "", fmt.Errorf("%s: %q is not a GUID", loaderDevicePartUUID, s)
	}
	return s, nil
}

// loaderString reads the string variable name, one of systemd-boot's,
// from the efivarfs directory vars; "" when it is not there.
func loaderString(vars, name string) (string, error) {
	b, err := os.ReadFile(filepath.Join(vars, name))
	if errors.Is(err, os.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	// efivarfs: 4 bytes of attributes, then the value, here a
	// NUL-terminated UTF-16LE string.
	if len(b) < 4 || len(b)%2 != 0 {
		return "", fmt.Errorf("%s: %d bytes, want attributes and a UTF-16 string", name, len(b))
	}
	return strings.TrimSpace(utf16String(b[4:])), nil
}

// LoaderEntry reads systemd-boot's LoaderEntrySelected from the efivarfs
// directory vars (/sys/firmware/efi/efivars, which Mount mounts): the
// loader entry it booted, "tprouter-b+2-1.conf" say, which names the
// running slot (init/update); "" when the variable is not there.
func LoaderEntry(vars string) (string, error) {
	return loaderString(vars, loaderEntrySelected)
}
