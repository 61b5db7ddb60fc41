package lab

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// NS is one network namespace, named as ip-netns(8) knows it.
type NS struct {
	Name string
}

// Command returns a command that runs name inside ns.
func (ns *NS) Command(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", ns.Name, name}, args...)...)
}

// IPErr runs ip(8) with args inside ns and returns its output; the error
// holds the command line and the output.
func (ns *NS) IPErr(args ...string) (string, error) {
	return ip(append([]string{"-n", ns.Name}, args...)...)
}

// RunErr runs a command inside ns and returns its combined output; the
// error holds the command line and the output.
func (ns *NS) RunErr(name string, args ...string) (string, error) {
	out, err := ns.Command(name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("in %s: %s %s: %v\n%s", ns.Name, name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// SysctlErr writes value to /proc/sys/key inside ns; key uses slashes.
func (ns *NS) SysctlErr(key, value string) error {
	err := ns.Do(func() error {
		return os.WriteFile("/proc/sys/"+key, []byte(value), 0o644)
	})
	if err != nil {
		return fmt.Errorf("in %s: sysctl %s=%s: %w", ns.Name, key, value, err)
	}
	return nil
}

// ip runs ip(8) with args in this process's namespace.
func ip(args ...string) (string, error) {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}
