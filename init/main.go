// Command init is tprouter's PID 1. It mounts the file systems, loads the
// board's kernel modules, mounts the boot and persistent partitions when
// it finds them, reads the kernel command line and cmdline.txt, and hands
// over to the router package, which configures the network and starts
// the services of its table (the rescue shell among them) under the
// supervisor. Then it reaps, supervises and waits for a signal or the
// power button to take the system down.
//
// PID 1 must never exit (the kernel panics when it does): every step
// reports its failure and the boot goes on, panics are recovered, and
// main ends by waiting forever.
package main

import (
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"os"
	"path/filepath"
	"time"

	"github.com/u-root/u-root/pkg/libinit"
	"golang.org/x/sys/unix"

	"tprouter/init/boot"
	"tprouter/init/cmdline"
	"tprouter/init/config"
	"tprouter/init/console"
	"tprouter/init/router"
	"tprouter/init/status"
	"tprouter/init/storage"
	"tprouter/init/supervise"
)

// shutdownGrace is how long services get between SIGTERM and SIGKILL;
// the proxy lets requests in flight finish for 10 s.
const shutdownGrace = 12 * time.Second

func main() {
	if os.Getpid() != 1 {
		fmt.Fprintln(os.Stderr, "init: not PID 1: tprouter's init mounts file systems and reboots the machine, so it only runs as the kernel's first process")
		os.Exit(2)
	}
	defer forever()
	start := time.Now()
	boot.IgnoreSIGPIPE()

	// Everything else needs /proc and /dev: the console device, the
	// command line, the module list's dependencies.
	mountErr := boot.Mount("/")
	con := console.New(openConsole())
	log := con.Log("init", supervise.RingLen)
	defer log.Recover() // runs before forever
	stdlog.SetFlags(0)
	stdlog.SetOutput(log) // u-root's packages log through the log package
	log.Printf("tprouter init starting")
	if mountErr != nil {
		log.Printf("mount: %v", mountErr)
	}
	libinit.SetEnv()
	if err := boot.RaiseFileLimit(boot.FileLimit); err != nil {
		log.Printf("%v; the services keep the kernel's default limit", err)
	}

	// Reap and handle signals before anything can start a process.
	reaper := supervise.NewReaper(nil)
	sup := supervise.New(con, log, reaper)
	wd := &boot.Watchdog{Dev: "/dev/watchdog", Log: log.Printf} // started in configure
	down := &boot.Shutdown{
		Stop: func() { sup.Shutdown(shutdownGrace) },
		Flush: func() {
			if err := con.StopPersist(5 * time.Second); err != nil {
				log.Printf("%v", err)
			}
			con.Flush(2 * time.Second)
		},
		Unmount: func() { storage.Unmount("/", log.Printf) },
		Drain:   func() { con.Flush(2 * time.Second) },
		Disarm:  wd.Disarm,
		Log:     log.Printf,
	}
	down.HandleSignals()
	if err := boot.CtrlAltDel(); err != nil {
		log.Printf("reboot(LINUX_REBOOT_CMD_CAD_OFF): %v", err)
	}
	(&boot.PowerButton{
		Glob: "/dev/input/event*", Rescan: time.Second, Log: log.Printf,
		Press: func(dev string) { down.Do(boot.PowerOff, "power button "+dev) },
	}).Watch()

	cfg, mounted := configure(log, wd)
	startSyslog(con, log, cfg, mounted.Perm)
	keepLogs(con, log, mounted.Perm)

	up := newUpdater(log, mounted, down, cfg.Network)
	st := newSelfTest(log, cfg.Network, sup)
	ready := make(chan struct{})
	go selfTestAtReady(ready, st, up, log)
	(&router.Router{
		Config: cfg, Log: log, Supervisor: sup, Perm: mounted.Perm,
		Status: &status.Server{
			Logs: con.Logs, Services: sup.Status, Orphans: reaper.Orphans, Start: start,
			SelfTest: st.Handler(), Update: up.Handler(), Version: up.VersionHandler(),
			Metrics: []func(io.Writer){st.WriteMetrics, up.WriteMetrics},
			Panels:  status.Panels{SelfTest: selfTestPanel(st)},
		},
		Ready: func() { close(ready) },
	}).Start()
}

// bootDiskWait bounds the wait for the disk the boot loader started from:
// a USB stick appears a few seconds after its driver loads.
const bootDiskWait = 5 * time.Second

// configure loads the board's kernel modules, mounts the partitions,
// reads the configuration (the kernel command line, then cmdline.txt on
// the boot partition, and whether deny.txt and allow.txt are there) and
// sets the host name. It starts the watchdog as soon as its driver is
// loaded: from there on a hang resets the box.
func configure(log *console.Log, wd *boot.Watchdog) (config.Config, storage.Mounted) {
	line, err := boot.ReadCmdline()
	if err != nil {
		log.Printf("reading the kernel command line: %v; using the defaults", err)
	}

	// The storage and file system modules come before the partitions.
	t := time.Now()
	loaded, errs := boot.Modules{File: boot.ModulesFile, Drivers: boot.DriversFile, SysModule: "/sys/module"}.Load()
	// ENODEV: the module is not for this machine (efivarfs without UEFI,
	// crc32c_intel on a CPU without SSE4.2); the line says so in passing.
	absent := ""
	for _, err := range errs {
		if errors.Is(err, unix.ENODEV) {
			absent += "; not for this machine: " + err.Error()
			continue
		}
		log.Printf("%v", err)
	}
	log.Printf("loaded %d kernel modules from %s in %v%s", len(loaded), boot.ModulesFile, time.Since(t).Round(time.Millisecond), absent)
	wd.Start()

	mounted := (&storage.Storage{Root: "/", Sys: "/sys", Dev: "/dev", Wait: bootDiskWait, Log: log.Printf}).Mount()
	var file string
	if mounted.Boot != "" {
		if file, err = cmdline.ReadFile(mounted.Boot); err != nil {
			log.Printf("%v; using the kernel command line alone", err)
		}
	}
	cfg, problems := cmdline.ParseWithFile(line, file)
	cmdline.ListFiles(&cfg, mounted.Boot)
	for _, p := range problems {
		log.Printf("%v", p)
	}
	log.Printf("config: %s", cfg.Summary())
	if err := boot.SetHostname(cfg.Hostname); err != nil {
		log.Printf("%v", err)
	}
	return cfg, mounted
}

// keepLogs keeps the log rings in perm/logs across reboots and restores
// what the last boot saved there, before the services start; perm is ""
// when no persistent partition is mounted, and the rings stay in memory.
func keepLogs(con *console.Console, log *console.Log, perm string) {
	if perm == "" {
		return
	}
	if err := con.Persist(filepath.Join(perm, "logs")); err != nil {
		log.Printf("%v; the logs are kept in memory only", err)
	}
}

// openConsole opens the system console for init's lines. Without
// O_NOCTTY, PID 1 would make it its controlling terminal, and the rescue
// shell could not.
func openConsole() *os.File {
	f, err := os.OpenFile("/dev/console", os.O_WRONLY|unix.O_NOCTTY, 0)
	if err != nil {
		return os.Stderr // the kernel's console, if it gave us one
	}
	return f
}

// forever keeps PID 1 alive: after main's work, and after a panic in it.
// It sleeps rather than blocking on nothing, so that the runtime never
// sees all goroutines asleep and ends the process.
func forever() {
	if r := recover(); r != nil {
		fmt.Fprintf(os.Stderr, "init: panic: %v\n", r)
	}
	for {
		time.Sleep(time.Hour)
	}
}
