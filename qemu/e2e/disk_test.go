package e2e

import (
	"testing"

	"tprouter/qemu"
)

// TestDisk boots the disk image to flash as a router box does, under UEFI
// (OVMF) from NVMe through systemd-boot and slot a's loader entry, and
// checks what TestRouted checks. It logs the boot's stages: QEMU start to
// the firmware starting the boot loader (the firmware's own start), then
// to the kernel's EFI stub taking the initramfs, then to tprouter: ready.
func TestDisk(t *testing.T) {
	l, _ := routedLab(t)
	vm := qemu.Boot(t, qemu.Options{
		Disk:    qemu.Disk(t, "qemu-x86_64"),
		Cmdline: routed + " tprouter.shell=on",
		NICs:    []qemu.NIC{{NS: l.Server}, {NS: l.Client}},
	})
	firmware := vm.Expect(t, qemu.FirmwareBoots, bootTimeout)
	kernel := vm.Expect(t, "EFI stub: Loaded initrd", bootTimeout)
	// systemd-boot booted slot a's entry (the kernel's own lines, its
	// command line among them, are below the boards' loglevel).
	vm.Expect(t, "storage: systemd-boot booted loader entry tprouter-a", bootTimeout)
	ready := vm.Expect(t, "tprouter: ready", bootTimeout)
	t.Logf("boot from the disk image: %.1f s from QEMU start to the firmware starting the boot loader; "+
		"then %.1f s to the kernel taking the initramfs and %.1f s to tprouter: ready (%.1f s in all)",
		firmware.Seconds(), (kernel - firmware).Seconds(), (ready - firmware).Seconds(), ready.Seconds())
	checkRouted(t, l, vm)
}
