// Package update is the router's side of A/B updates: PUT /update writes
// a signed bundle (internal/bundle) to the slot that is not running, a
// passing self-test blesses the new slot, and a slot that fails is left
// behind by systemd-boot's boot counting, which the old slot reports.
//
// # Slots and entries
//
// The boot partition (FAT, mounted read-only at /boot) holds two slots,
// /tprouter/a and /tprouter/b (vmlinuz, initramfs.img), and one loader
// entry per slot in /loader/entries: tprouter-<slot>[+LEFT[-DONE]].conf,
// each with "sort-key tprouter" and "version <version>", so that
// systemd-boot boots the newest version first. The running slot is the
// one systemd-boot names in its LoaderEntrySelected EFI variable.
//
// # Boot counting (systemd-boot)
//
// A new entry is written as tprouter-<slot>+3.conf. Before each boot of
// an entry with a counter systemd-boot renames it, taking one from LEFT
// and adding one to DONE: +3 → +2-1 → +1-2 → +0-3. An entry with no tries
// left (+0-N) sorts after every other, so the next boot is the old slot.
// Blessing renames the entry to tprouter-<slot>.conf: no counter, no more
// counting. Whatever stops the new slot before it is blessed (a failed
// self-test, which reboots; a crash, with panic= on the command line; a
// hang, which the 3-minute deadline turns into a reboot) spends a try.
//
// # Writing a slot, and why a power cut is safe
//
// The running slot's files and entry are never opened for writing. The
// other slot is written in this order, /boot remounted read-write for the
// time it takes (and read-only again whatever happens):
//
//  1. remove the slot's old entries (fsync the directory): from here on
//     no entry points at the files about to change;
//  2. write each file to a temporary name, fsync it, drop it from the
//     page cache, read it back and check its size and SHA-256 against
//     the manifest, rename it into place; fsync the slot's directory;
//  3. write the entry, tprouter-<slot>+3.conf, to a temporary name
//     (".tprouter-<slot>.tmp": systemd-boot skips dot files), fsync it,
//     rename it into place, fsync /loader/entries.
//
// A power cut before step 3's rename leaves no entry for the half-written
// slot: systemd-boot boots the running slot, the only entry. After it,
// the new entry points at files that were verified on the disk. FAT has
// no journal, so a cut in the middle of a directory update can damage
// that one directory's blocks; the running slot's directory is not
// written, and its entry file is never renamed or rewritten by an update
// (only by its own blessing, a rename within the same directory).
//
// # After the boot
//
// CheckRollback, at boot before the services: another slot's entry has
// spent its tries and is newer than the running version → the update was
// rolled back; it says so on the console, in /version and in the
// metrics, with the reason the failed slot wrote to /perm/update/failure.txt.
// AfterSelfTest and StartDeadline bless the running entry or reboot.
package update
