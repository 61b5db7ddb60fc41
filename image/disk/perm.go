package disk

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// permReadme is /README.txt on the persistent partition, for whoever
// mounts it on another computer.
const permReadme = `This is tprouter's persistent partition (tprouter-perm), mounted at /perm
on the router: what it keeps across reboots, such as leases and logs, each
service in a directory of its own. Removing a directory resets what that
service kept. tprouter never formats this partition: if it is damaged, the
router reports it and runs with its state in memory.
`

// makePerm formats p of img as ext4 with the files of the new directory
// stage, all with the time t. mkfs.ext4 takes the file system's own times
// from E2FSPROGS_FAKE_TIME and the files' times from stage, and the files'
// owners too, except the root directory's (root_owner): debugfs sets what
// no one but root can set on the host after, the change time and, for a
// build that does not run as root, the owner.
func makePerm(img string, p Partition, uuid GUID, stage string, t time.Time) error {
	if err := os.Mkdir(stage, 0o755); err != nil {
		return err
	}
	readme := filepath.Join(stage, "README.txt")
	if err := os.WriteFile(readme, []byte(permReadme), 0o644); err != nil {
		return err
	}
	for _, name := range []string{readme, stage} {
		if err := os.Chtimes(name, t, t); err != nil {
			return err
		}
	}
	// Directories get the time of their source; Mkdir made stage 0700
	// at most as umask allows, and services must be able to enter
	// /perm.
	if err := os.Chmod(stage, 0o755); err != nil {
		return err
	}
	fake := []string{fmt.Sprintf("E2FSPROGS_FAKE_TIME=%d", t.Unix())}
	id := uuid.String()
	if _, err := run(fake, "mkfs.ext4", "-q", "-F", "-b", "4096", "-L", PermLabel, "-U", id,
		"-E", fmt.Sprintf("offset=%d,root_owner=0:0,hash_seed=%s", p.Offset(), id),
		"-d", stage, img, fmt.Sprintf("%dk", p.Size()/1024)); err != nil {
		return err
	}
	cmds := filepath.Join(filepath.Dir(stage), "debugfs.cmds") // beside stage, not in it
	script := fmt.Sprintf("set_inode_field /README.txt ctime @%d\n"+
		"set_inode_field /README.txt uid 0\nset_inode_field /README.txt gid 0\n", t.Unix())
	if err := os.WriteFile(cmds, []byte(script), 0o644); err != nil {
		return err
	}
	// debugfs exits 0 when a command fails; it says so on standard
	// error, after its version line.
	dev := fmt.Sprintf("%s?offset=%d", img, p.Offset())
	_, stderr, err := run2(fake, "debugfs", "-w", "-f", cmds, dev)
	if err != nil {
		return err
	}
	if _, msg, _ := strings.Cut(string(stderr), "\n"); strings.TrimSpace(msg) != "" {
		return fmt.Errorf("debugfs -w -f %s %s: %s", cmds, dev, strings.TrimSpace(msg))
	}
	return nil
}
