// Command update makes update keys and bundles and uploads a bundle to a
// router (make keys, make update-bundle, make update):
//
//	go run ./image/update keys [-dir ~/.config/tprouter]
//	go run ./image/update bundle -image build/<board> [-keys DIR] [-o build/<board>/update.tar]
//	go run ./image/update push -router ADDR [-bundle FILE] [-keys DIR] [-force] [-wait 5m]
//
// keys makes the signing key, its public key and the update password in
// the keys directory once, never replacing a file (tprouter/internal/bundle
// describes them). bundle signs the image the builder wrote (vmlinuz,
// initramfs.img, cmdline, version) into an update bundle for the board of
// the image's directory. push uploads a bundle with PUT
// http://ADDR:9090/update (basic auth, user "tprouter", the password in the
// keys directory), then polls GET http://ADDR:9090/version until the
// router is back after its reboot, and prints "running version X
// (updated)" or "running version Y: the update to X was rolled back:
// <why>"; it fails when the router refuses the bundle or does not come
// back within -wait.
package main

import (
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"tprouter/internal/bundle"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("update: ")
	if len(os.Args) < 2 {
		log.Fatal("usage: update keys|bundle|push [flags] (-h after one for its flags)")
	}
	cmds := map[string]func([]string) error{"keys": keysCmd, "bundle": bundleCmd, "push": pushCmd}
	cmd, ok := cmds[os.Args[1]]
	if !ok {
		log.Fatalf("%q: want keys, bundle or push", os.Args[1])
	}
	log.SetPrefix("update " + os.Args[1] + ": ")
	if err := cmd(os.Args[2:]); err != nil {
		log.Fatal(err)
	}
}

// defaultKeys is make's KEYS: ~/.config/tprouter.
func defaultKeys() string {
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".config", "tprouter")
}

func keysCmd(args []string) error {
	fs := flag.NewFlagSet("keys", flag.ExitOnError)
	dir := fs.String("dir", defaultKeys(), "keys directory")
	fs.Parse(args)
	made, err := bundle.CreateKeys(*dir)
	if err != nil {
		return err
	}
	for _, name := range made {
		fmt.Printf("made     %s\n", name)
	}
	if len(made) > 0 {
		fmt.Printf("keep %s out of any repository; a router trusts this key once its disk image is written (make disk) and flashed\n", *dir)
	}
	for _, name := range []string{bundle.KeyFile, bundle.PubFile, bundle.PasswordFile} {
		fmt.Printf("%-8s %s\n", map[string]string{bundle.KeyFile: "signing", bundle.PubFile: "public", bundle.PasswordFile: "password"}[name], filepath.Join(*dir, name))
	}
	return nil
}
