package bundle

import (
	"bytes"
	"testing"
)

// FuzzRead feeds Read mutations of a good bundle and of broken ones: it
// must never panic nor accept what does not verify.
func FuzzRead(f *testing.F) {
	good := build(f, testKey, testManifest(), map[string][]byte{Vmlinuz: []byte("MZ k"), Initramfs: []byte("init")})
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(build(f, otherKey, testManifest(), testFiles))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Read(bytes.NewReader(data), 1<<16, testPub)
		if err != nil {
			return
		}
		// Accepted: it must be the good bundle's contents (an attacker
		// without the key can only pad it).
		if string(b.Files[Vmlinuz]) != "MZ k" || string(b.Files[Initramfs]) != "init" {
			t.Fatalf("accepted a bundle that was not signed: %+v", b.Manifest)
		}
	})
}
