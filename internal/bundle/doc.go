// Package bundle is the update bundle that the host signs (make
// update-bundle, tprouter/image/update) and the router checks before it
// writes a slot (tprouter/init/update), with the keys, the version order
// and the loader entries both sides share.
//
// # The bundle
//
// An update bundle is a tar archive (ustar) of four entries, in this order:
//
//	manifest.json   the Manifest: board, version, build time, the kernel
//	                command line (the loader entry's options) and the name,
//	                size and SHA-256 of each file
//	manifest.sig    the ed25519 signature of manifest.json's bytes, 64 bytes
//	vmlinuz         the kernel
//	initramfs.img   the initramfs
//
// Read trusts nothing before the signature: it reads manifest.json (at
// most MaxManifest bytes) and manifest.sig, verifies the signature with
// the router's public key, and only then decodes the manifest. It then
// reads each file, checking its size against the signed manifest while
// reading and its hash at its end, and rejects an entry that is not in the
// manifest, one that comes twice, a file the manifest names that is
// missing, sizes above maxSize, and anything after the archive but zero
// padding. Nothing is allocated from a length it has not checked: the
// manifest is read through a limit, files grow as their bytes arrive and
// never beyond the signed sizes, which are capped by maxSize.
// Bundle.Check then refuses a bundle for another board, or whose version
// is not newer than the running one (unless forced).
//
// # Keys and the password
//
// The signing key (KeyFile, signing.key, mode 0600) is a PEM "PRIVATE
// KEY" block, PKCS#8. The public key (PubFile, signing.pub; on the boot
// partition BootKey, /update/key.pub) is one line "ed25519 <base64 of the
// 32 bytes>", then a comment line. The update password (PasswordFile,
// update.password, 0600) is 24 random letters and digits; the boot
// partition carries only its hash (BootPasswordHash,
// /update/password.sha256): the hex SHA-256 of the password, one line.
// CreateKeys makes the missing ones in a directory and never overwrites.
//
// # Versions and loader entries
//
// Versions (VersionFile, /etc/tprouter/version in the initramfs) are
// compared by Compare: field by field on "." and "-", numerically where
// both fields are numbers. The build's default version is the commit time
// in UTC, 2026.01.02.030405, which sorts the same way.
//
// Entry writes a slot's loader entry with "sort-key tprouter" and
// "version <v>". systemd-boot in Debian bookworm (systemd 252,
// src/boot/efi/boot.c, config_entry_compare) sorts entries by, in order:
// entries with no tries left (a +0-N counter in the file name) after all
// others; entries with a sort-key before those without; sort-key, then
// machine-id, by strcmp; then version, newest first
// (-strverscmp_improved, which compares runs of digits numerically like
// Compare); and only then the entry id (the file name), then more tries
// left first. With no default in loader.conf and no LoaderEntryDefault
// variable it boots the first entry. So a new slot's entry (written with
// "+3") with a newer version boots before the running one, and once its
// tries are spent (+0-3) it sorts last and the old slot boots again.
package bundle
