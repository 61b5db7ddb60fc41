package bundle

import (
	"archive/tar"
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

var (
	testKey   = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, 32))
	otherKey  = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{2}, 32))
	testPub   = testKey.Public().(ed25519.PublicKey)
	testFiles = map[string][]byte{Vmlinuz: []byte("MZ kernel " + strings.Repeat("k", 3000)), Initramfs: []byte(strings.Repeat("i", 5000))}
)

const maxSize = 1 << 20

func testManifest() Manifest {
	return Manifest{Board: "qemu-x86_64", Version: "2026.01.02.030405", Built: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Options: "console=ttyS0 panic=-1"}
}

func build(t testing.TB, key ed25519.PrivateKey, m Manifest, files map[string][]byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, key, m, files); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestRoundTrip(t *testing.T) {
	data := build(t, testKey, testManifest(), testFiles)
	if again := build(t, testKey, testManifest(), testFiles); !bytes.Equal(data, again) {
		t.Error("Write is not deterministic")
	}
	b, err := Read(bytes.NewReader(data), maxSize, testPub)
	if err != nil {
		t.Fatal(err)
	}
	m := b.Manifest
	if m.Board != "qemu-x86_64" || m.Version != "2026.01.02.030405" || !m.Built.Equal(testManifest().Built) || m.Options != "console=ttyS0 panic=-1" || len(m.Files) != 2 {
		t.Errorf("manifest %+v", m)
	}
	for name, want := range testFiles {
		if !bytes.Equal(b.Files[name], want) {
			t.Errorf("%s: %d bytes, want %d", name, len(b.Files[name]), len(want))
		}
	}
	// Zero padding to a tar record (as tar(1) writes) is fine.
	padded := append(bytes.Clone(data), make([]byte, 10240-len(data)%10240)...)
	if _, err := Read(bytes.NewReader(padded), maxSize, testPub); err != nil {
		t.Errorf("padded: %v", err)
	}
	if err := b.Check("qemu-x86_64", "2026.01.01.000000", false); err != nil {
		t.Error(err)
	}
}

// entries is a tar of the given entries, in order.
func entries(t *testing.T, es ...[2]string) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range es {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: e[0], Mode: 0o644, Size: int64(len(e[1]))}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e[1]))
	}
	tw.Close()
	return b.Bytes()
}

// signed is a bundle whose manifest m is signed by key, with the given
// payload entries.
func signed(t *testing.T, key ed25519.PrivateKey, m Manifest, payload ...[2]string) []byte {
	j, _ := json.Marshal(m)
	return entries(t, append([][2]string{{ManifestName, string(j)}, {SigName, string(ed25519.Sign(key, j))}}, payload...)...)
}

func TestBad(t *testing.T) {
	good := build(t, testKey, testManifest(), testFiles)
	b, err := Read(bytes.NewReader(good), maxSize, testPub)
	if err != nil {
		t.Fatal(err)
	}
	m := b.Manifest
	kernel, initrd := [2]string{Vmlinuz, string(testFiles[Vmlinuz])}, [2]string{Initramfs, string(testFiles[Initramfs])}
	edited := bytes.Clone(good)
	edited[bytes.Index(edited, []byte("MZ kernel"))+3] ^= 1
	manifestEdited := bytes.Replace(good, []byte("qemu-x86_64"), []byte("qemu-x86_65"), 1)
	huge := m
	huge.Files = []File{m.Files[0], {Name: Initramfs, Size: 1 << 62, SHA256: m.Files[1].SHA256}}
	for _, c := range []struct {
		name, want string
		data       []byte
	}{
		{"unsigned", "unsigned", entries(t, kernel, initrd)},
		{"no signature", "unsigned", entries(t, [2]string{ManifestName, "{}"}, kernel)},
		{"wrongly signed", "signed by another key", build(t, otherKey, testManifest(), testFiles)},
		{"manifest edited", "signed by another key", manifestEdited},
		{"file edited", "does not match its SHA-256", edited},
		{"duplicate", "comes twice", signed(t, testKey, m, kernel, kernel)},
		{"unknown", `"extra" is not in the manifest`, signed(t, testKey, m, kernel, [2]string{"extra", "x"})},
		{"missing", "truncated: [initramfs.img] missing", signed(t, testKey, m, kernel)},
		{"entry after", `unexpected entry "extra"`, signed(t, testKey, m, kernel, initrd, [2]string{"extra", "x"})},
		{"huge", "too large", signed(t, testKey, huge, kernel, initrd)},
		{"junk", "trailing junk", append(bytes.Clone(good), "junk"...)},
		{"empty", "truncated", nil},
		{"not tar", "bundle: ", []byte(strings.Repeat("hello world\n", 100))},
	} {
		_, err := Read(bytes.NewReader(c.data), maxSize, testPub)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
	if _, err := Read(bytes.NewReader(good), int64(len(good))-600, testPub); err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("over maxSize: %v", err)
	}
}

func TestTruncated(t *testing.T) {
	good := build(t, testKey, testManifest(), testFiles)
	end := len(good) - 1024 // the two zero blocks
	for n := 0; n < end; n += 37 {
		_, err := Read(bytes.NewReader(good[:n]), maxSize, testPub)
		if err == nil || !strings.Contains(err.Error(), "truncated") {
			t.Fatalf("cut at %d of %d: %v, want truncated", n, len(good), err)
		}
	}
}

func TestCheck(t *testing.T) {
	b := &Bundle{Manifest: testManifest()}
	for _, c := range []struct {
		board, running string
		force          bool
		want           string
	}{
		{"x86_64", "1", false, "for board qemu-x86_64, this router is x86_64"},
		{"qemu-x86_64", "2026.01.02.030405", false, "version 2026.01.02.030405 is not newer than the running 2026.01.02.030405: add ?force=1 / FORCE=1"},
		{"qemu-x86_64", "2027.01.01.000000", false, "not newer"},
		{"qemu-x86_64", "2027.01.01.000000", true, ""},
		{"qemu-x86_64", "0.0.0", false, ""},
	} {
		err := b.Check(c.board, c.running, c.force)
		if (c.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.want) {
			t.Errorf("Check(%s, %s, %t) = %v, want %q", c.board, c.running, c.force, err, c.want)
		}
	}
}

func TestCompare(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"1", "2", -1}, {"10", "9", 1}, {"1.0", "1.0.1", -1}, {"2026.01.02.030405", "2026.01.02.030406", -1},
		{"2026.12.31.235959", "2027.01.01.000000", -1}, {"1.2-rc1", "1.2-rc2", -1}, {"1.02", "1.2", -1},
		{"1.a", "1.b", -1}, {"3", "3", 0}, {"0.0.0", "2026.01.01.000000", -1},
		{"99999999999999999999", "100000000000000000000", -1},
	} {
		if got := Compare(c.a, c.b); got != c.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := Compare(c.b, c.a); got != -c.want {
			t.Errorf("Compare(%s, %s) = %d, want %d", c.b, c.a, got, -c.want)
		}
	}
}

func TestKeys(t *testing.T) {
	dir := t.TempDir()
	made, err := CreateKeys(dir)
	if err != nil || len(made) != 3 {
		t.Fatalf("CreateKeys: %v, %v", made, err)
	}
	if again, err := CreateKeys(dir); err != nil || len(again) != 0 {
		t.Fatalf("CreateKeys again: %v, %v, want nothing made", again, err)
	}
	key, err := SigningKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	pubText, hash, err := BootFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKey(pubText)
	if err != nil || !pub.Equal(key.Public()) {
		t.Fatalf("ParsePublicKey(%q) = %v, %v", pubText, pub, err)
	}
	if _, err := ParsePublicKey([]byte("ssh-ed25519 AAAA\n")); err == nil {
		t.Error("ParsePublicKey took an ssh key")
	}
	if !CheckPassword(hash, "x") == CheckPassword(hash, "y") || CheckPassword(hash, "x") {
		t.Error("CheckPassword takes a wrong password")
	}
	if pw := NewPassword(); len(pw) != 24 || !CheckPassword(HashPassword(pw), pw+"\n") {
		t.Errorf("NewPassword %q", pw)
	}
}

func TestEntry(t *testing.T) {
	want := "title   tprouter x86_64 (slot b)\nsort-key tprouter\nversion 3\nlinux   /tprouter/b/vmlinuz\ninitrd  /tprouter/b/initramfs.img\noptions quiet\n"
	if got := Entry("x86_64", "b", "3", "quiet"); got != want {
		t.Errorf("Entry =\n%s\nwant\n%s", got, want)
	}
}
