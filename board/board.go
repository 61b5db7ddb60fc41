// Package board describes the hardware tprouter images are built for. A
// board is plain data: which Debian kernel to boot, which kernel modules
// the router needs on it, the kernel command line it boots with, and which
// network interface is which. The image builder (tprouter/image) turns a
// board into a kernel and an initramfs; the table below is the only place
// boards are defined.
package board

import (
	"fmt"
	"slices"
	"strings"
)

// Board is one kind of machine.
type Board struct {
	Name string
	Doc  string

	// Kernel is the Debian meta package that names the current kernel
	// (e.g. linux-image-cloud-amd64 → linux-image-6.1.0-56-cloud-amd64).
	// Naming the meta package keeps boards current across Debian's
	// security updates, which change the ABI number.
	Kernel string

	// Modules are loaded at boot, each after its dependencies, which
	// the builder's closure finds, so only list what the router uses
	// directly. Modules built into the kernel are accepted and skipped.
	Modules []string

	// Drivers are the device drivers among Modules (NICs, disks), which
	// init loads one after another in this order before the others: the
	// kernel names NICs (eth0, eth1) and disks in the order its drivers
	// find them, and drivers loading at once race for the names.
	Drivers []string

	// KernelArgs is the board's kernel command line without the NIC
	// layout, which Board.Cmdline appends.
	KernelArgs string

	// Initramfs is the initramfs's compression; "" is LZ4.
	Initramfs Compression

	// NICs is the network interface layout, in the kernel's naming order.
	NICs []NIC
}

// Compression is a format the boards' kernels unpack an initramfs from.
type Compression string

const (
	// LZ4 (its legacy frame format) unpacks fastest: 0.15 s under QEMU's
	// CPU emulation for an archive that zstd unpacks in 0.4 s.
	LZ4 Compression = "lz4"
	// Zstd makes the image a third smaller than LZ4, for a box that
	// reads it from a USB stick, and costs a real CPU some 50 ms more.
	Zstd Compression = "zstd"
)

// NIC is one network interface of a board.
type NIC struct {
	Name string // as the kernel names it: eth0, eth1, ...
	Role Role
}

// Role is what a NIC is used for.
type Role string

const (
	WAN Role = "wan" // the uplink; tprouter.wan= on the command line
	LAN Role = "lan" // the clients' side; tprouter.lan=
)

// router lists the modules every board needs, whatever its NICs.
//
// There is no modprobe in the image, so the kernel's own on-demand loading
// (request_module of "nft-expr-tproxy", "nft-chain-2-nat", ...) fails:
// every nftables expression and chain type that tprouter's rules use has
// to be loaded up front.
var router = []string{
	"button", // ACPI power button: a power key press (or QEMU's system_powerdown) reaches init
	"evdev",  // ... as /dev/input/event*, which init watches for KEY_POWER

	"nf_tables",
	"nf_conntrack",
	"nft_ct",          // ct state established,related
	"nft_chain_nat",   // type nat chains
	"nft_masq",        // masquerade on the WAN (tprouter.nat)
	"nft_fib_inet",    // fib (reverse path) lookups
	"nft_reject_inet", // reject with tcp reset (fail-closed), port unreachable (QUIC)
	"nft_objref",      // counter name "quic": rules that count in a named counter
	"nft_socket",      // socket transparent: packets of proxied connections
	"nft_tproxy",      // tproxy to :port
	"nf_tproxy_ipv4",  // nft_tproxy's per-family halves
	"nf_tproxy_ipv6",  //
	"nf_socket_ipv4",  // nft_socket's per-family halves
	"nf_socket_ipv6",  //

	"tcp_diag", // sock_diag for TCP (and inet_diag): the proxy destroys an earlier proxy's TIME_WAITs at start

	"veth", // the self-test's client and server namespaces (init/selftest/trip)
}

// filesystems lists what init needs to mount its partitions (init/storage)
// on every board, built in or not. There is no modprobe, so what the
// kernel asks for by name at mount time must be loaded up front: FAT's
// code pages (the Debian kernels' defaults are codepage=437 and
// iocharset=ascii) and the crc32c algorithm that ext4's checksums use.
var filesystems = []string{
	"efivarfs",       // the boot loader's variables: which partition it started from
	"vfat",           // the boot partition, /boot (EFI system partition, FAT32)
	"nls_cp437",      // ... its default code page
	"nls_ascii",      // ... and character set
	"crc32c_generic", // ext4's metadata checksums
	"ext4",           // the persistent partition, /perm
}

// qemuDrivers are a QEMU VM's NIC and disk drivers.
var qemuDrivers = []string{"virtio_pci", "virtio_net", "nvme", "virtio_blk"}

// qemuWatchdog is the watchdog of a QEMU VM's kernel. The cloud kernel
// has no driver for QEMU's emulated i6300ESB (CONFIG_I6300ESB_WDT is not
// set), so the VM gets softdog, a kernel timer: it resets the VM when
// init stops pinging (init/boot/watchdog.go), though not when the kernel
// itself locks up, which panic= and the kernel's lockup detectors cover.
var qemuWatchdog = []string{"softdog"}

// pcWatchdogs are the hardware watchdogs of x86-64 router boxes; each
// fails with ENODEV on a machine without its chip (init says so in
// passing), and the first that probes becomes /dev/watchdog.
var pcWatchdogs = []string{
	"iTCO_wdt",   // Intel chipsets' TCO timer (Protectli, most Intel boxes)
	"sp5100_tco", // AMD chipsets' (PC Engines APU)
	"i6300esb",   // QEMU's emulated one, when this image boots in a VM
}

// pcNICs are the NIC drivers of x86-64 router boxes.
var pcNICs = []string{
	"igb", "igc", "e1000e", "ixgbe", // Intel 1G/2.5G/10G
	"r8169",                    // Realtek 1G/2.5G (some chips want firmware-realtek, not included)
	"virtio_pci", "virtio_net", // the same image also boots in a VM
}

// pcDisks are the drivers of the disks an x86-64 box boots from.
var pcDisks = []string{
	"nvme",        // NVMe SSDs
	"ahci",        // SATA SSDs and disks
	"sd_mod",      // SCSI disks: SATA's and USB's
	"xhci_pci",    // USB 3 controllers
	"ehci_pci",    // USB 2 controllers
	"usb_storage", // USB sticks and disks
	"uas",         // USB 3 disks that speak UAS
	"virtio_blk",  // a VM's disk
}

// bootArgs are in every board's command line. loglevel=5 keeps the
// kernel's errors and warnings on the console and leaves its notices and
// information (some 350 lines a boot) to dmesg: the kernel writes them to
// the console as the boot goes, which at 115200 baud takes over 2 s on a
// router box's serial port and 0.7 s on QEMU's emulated one. init's own
// lines do not go through the kernel log and all stay.
const bootArgs = "loglevel=5"

// boards is the table of all boards; keep it short and flat.
var boards = []Board{
	{
		Name:   "qemu-x86_64",
		Doc:    "QEMU x86-64 virtual machine with virtio NICs, as in the tests and make demo",
		Kernel: "linux-image-cloud-amd64", // small: virtio and netfilter, no real hardware
		// NVMe, ext4 and crc32c are built into the cloud kernel (listed
		// anyway, and skipped); it has no AHCI or USB storage at all.
		Modules: slices.Concat(qemuDrivers, filesystems, router, qemuWatchdog),
		Drivers: qemuDrivers,
		// panic=-1: a kernel panic, including PID 1 exiting, reboots at
		// once, and QEMU's -no-reboot then ends the VM instead of
		// leaving a test to wait for its timeout. The last two save
		// time under QEMU's CPU emulation: noreplace-smp keeps the
		// kernel's SMP instructions on a one-CPU VM instead of patching
		// them all (0.3 s), cryptomgr.notests skips the self-tests of
		// the kernel's crypto algorithms, which the router does not use
		// (0.3 s).
		KernelArgs: "console=ttyS0 panic=-1 " + bootArgs + " noreplace-smp cryptomgr.notests",
		NICs:       []NIC{{"eth0", WAN}, {"eth1", LAN}},
	},
	{
		Name:    "x86_64",
		Doc:     "x86-64 router box (PC Engines APU, Protectli, small-form-factor PCs) with Intel or Realtek NICs",
		Kernel:  "linux-image-amd64",
		Modules: slices.Concat(pcNICs, pcDisks, filesystems, router, pcWatchdogs),
		Drivers: slices.Concat(pcNICs, pcDisks),
		// panic=10: a router reboots on its own after a panic instead of
		// hanging until someone notices.
		KernelArgs: "console=ttyS0,115200 panic=10 " + bootArgs,
		Initramfs:  Zstd, // its NIC drivers make it 8.6 MiB in LZ4, 5.8 in zstd
		NICs:       []NIC{{"eth0", WAN}, {"eth1", LAN}},
	},
}

// Names returns the names of all boards.
func Names() []string {
	var names []string
	for _, b := range boards {
		names = append(names, b.Name)
	}
	return names
}

// Get returns the board called name.
func Get(name string) (Board, error) {
	for _, b := range boards {
		if b.Name == name {
			return b, b.Validate()
		}
	}
	return Board{}, fmt.Errorf("board %q not found (boards: %s)", name, strings.Join(Names(), ", "))
}

// Cmdline returns the board's full default kernel command line: KernelArgs
// followed by the NIC layout as tprouter.wan= and tprouter.lan=, so that
// /proc/cmdline on a running router says which port is which.
func (b Board) Cmdline() string {
	args := strings.Fields(b.KernelArgs)
	for _, role := range []Role{WAN, LAN} {
		if nic, ok := b.NIC(role); ok {
			args = append(args, "tprouter."+string(role)+"="+nic.Name)
		}
	}
	return strings.Join(args, " ")
}

// NIC returns the board's first NIC with role.
func (b Board) NIC(role Role) (NIC, bool) {
	for _, n := range b.NICs {
		if n.Role == role {
			return n, true
		}
	}
	return NIC{}, false
}

// Validate reports the first inconsistency in b.
func (b Board) Validate() error {
	switch {
	case b.Name == "":
		return fmt.Errorf("board without a name")
	case b.Kernel == "":
		return fmt.Errorf("board %s: no kernel package", b.Name)
	case strings.ContainsAny(b.KernelArgs, "\n\r"):
		return fmt.Errorf("board %s: command line has a line break", b.Name)
	case b.Initramfs != "" && b.Initramfs != LZ4 && b.Initramfs != Zstd:
		return fmt.Errorf("board %s: initramfs compression %q, want %q or %q", b.Name, b.Initramfs, LZ4, Zstd)
	}
	seen := map[string]bool{}
	for _, m := range b.Modules {
		if m == "" || strings.ContainsAny(m, " /\t\n") || strings.HasSuffix(m, ".ko") {
			return fmt.Errorf("board %s: module %q: want a module name like nf_tables", b.Name, m)
		}
		if seen[m] {
			return fmt.Errorf("board %s: module %s listed twice", b.Name, m)
		}
		seen[m] = true
	}
	for _, d := range b.Drivers {
		if !seen[d] {
			return fmt.Errorf("board %s: driver %s is not in its modules", b.Name, d)
		}
	}
	roles := map[Role]int{}
	names := map[string]bool{}
	for _, n := range b.NICs {
		if n.Role != WAN && n.Role != LAN {
			return fmt.Errorf("board %s: NIC %s: role %q, want %q or %q", b.Name, n.Name, n.Role, WAN, LAN)
		}
		if names[n.Name] {
			return fmt.Errorf("board %s: NIC %s listed twice", b.Name, n.Name)
		}
		names[n.Name] = true
		roles[n.Role]++
	}
	// init takes one WAN and one LAN link from the command line.
	if roles[WAN] != 1 || roles[LAN] != 1 {
		return fmt.Errorf("board %s: want one %s and one %s NIC, have %d and %d", b.Name, WAN, LAN, roles[WAN], roles[LAN])
	}
	return nil
}
