package update

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestBless(t *testing.T) {
	r := newRig(t, "tprouter-b+3.conf", map[string]string{"tprouter-a.conf": "1", "tprouter-b+2-1.conf": "2"})
	r.AfterSelfTest(true, "")
	if _, err := os.Stat(filepath.Join(r.entries(), "tprouter-b.conf")); err != nil {
		t.Fatal(err)
	}
	if _, entry, _ := r.Running(); entry != "tprouter-b.conf" {
		t.Errorf("running entry %q after blessing", entry)
	}
	if !r.logged("update: version 2 in slot b blessed") {
		t.Errorf("logs %q", r.logs)
	}
	r.AfterSelfTest(false, "late failure") // blessed: left alone
	if len(r.reboots) != 0 {
		t.Error("a blessed slot rebooted")
	}
}

func TestSelfTestFails(t *testing.T) {
	r := newRig(t, "tprouter-b+3.conf", map[string]string{"tprouter-a.conf": "1", "tprouter-b+2-1.conf": "2"})
	r.AfterSelfTest(false, "selftest FAILED: proxy-cap")
	select {
	case <-r.reboots:
	default:
		t.Fatal("no reboot")
	}
	b, err := os.ReadFile(filepath.Join(r.Perm, "update/failure.txt"))
	if err != nil || !strings.Contains(string(b), "version 2\n") || !strings.Contains(string(b), "why selftest FAILED: proxy-cap\n") {
		t.Errorf("failure.txt: %q, %v", b, err)
	}
	if !r.logged("update: version 2 failed its self-test: selftest FAILED: proxy-cap; rebooting (2 tries left)") {
		t.Errorf("logs %q", r.logs)
	}
	if _, err := os.Stat(filepath.Join(r.entries(), "tprouter-b+2-1.conf")); err != nil {
		t.Error("the failed entry was renamed")
	}
}

func TestDeadline(t *testing.T) {
	r := newRig(t, "tprouter-b+1-2.conf", map[string]string{"tprouter-a.conf": "1", "tprouter-b+0-3.conf": "2"})
	r.StartDeadline(20 * time.Millisecond)
	select {
	case <-r.reboots:
	case <-time.After(5 * time.Second):
		t.Fatal("no reboot after the deadline")
	}
	if !r.logged("no self-test pass within 20ms; rebooting (no tries left: slot a boots next)") {
		t.Errorf("logs %q", r.logs)
	}

	r = newRig(t, "tprouter-b+3.conf", map[string]string{"tprouter-a.conf": "1", "tprouter-b+2-1.conf": "2"})
	r.StartDeadline(20 * time.Millisecond)
	r.AfterSelfTest(true, "")
	time.Sleep(100 * time.Millisecond)
	if len(r.reboots) != 0 {
		t.Error("reboot after a pass")
	}
}

func TestRollback(t *testing.T) {
	entries := map[string]string{"tprouter-a.conf": "2", "tprouter-b+0-3.conf": "3"}
	r := newRig(t, "tprouter-a.conf", entries)
	write(t, filepath.Join(r.Perm, "update/failure.txt"), "version 3\ntime 2025-01-01T00:00:00Z\nwhy selftest FAILED: proxy-cap\n")
	r.CheckRollback()
	want := "version 3 in slot b failed 3 boots: selftest FAILED: proxy-cap"
	if r.RolledBack() != want {
		t.Fatalf("RolledBack() = %q, want %q", r.RolledBack(), want)
	}
	if !r.logged("update: rolled back: " + want + "; running version 2 in slot a") {
		t.Errorf("logs %q", r.logs)
	}
	rec := httptest.NewRecorder()
	r.VersionHandler().ServeHTTP(rec, httptest.NewRequest("GET", "/version", nil))
	if got := rec.Body.String(); got != "version 2\nslot a\nentry tprouter-a.conf\nrolled back: "+want+"\n" {
		t.Errorf("/version: %q", got)
	}
	var m strings.Builder
	r.WriteMetrics(&m)
	for _, line := range []string{`tprouter_version_info{version="2",slot="a"} 1`, "tprouter_update_rolled_back 1", "tprouter_update_pending_blessing 0"} {
		if !strings.Contains(m.String(), line+"\n") {
			t.Errorf("metrics lack %q:\n%s", line, m.String())
		}
	}

	r = newRig(t, "tprouter-a.conf", entries) // no record on /perm
	r.CheckRollback()
	if !strings.HasSuffix(r.RolledBack(), "failed 3 boots: no record: it crashed or hung before its self-test") {
		t.Errorf("without failure.txt: %q", r.RolledBack())
	}
	for _, es := range []map[string]string{
		{"tprouter-a.conf": "2", "tprouter-b+0-3.conf": "1"}, // older: an old slot's leftover
		{"tprouter-a.conf": "2", "tprouter-b+1-2.conf": "3"}, // tries left
		{"tprouter-a.conf": "2", "tprouter-b.conf": "3"},     // blessed (selected by hand)
	} {
		r := newRig(t, "tprouter-a.conf", es)
		if r.CheckRollback(); r.RolledBack() != "" {
			t.Errorf("%v: rolled back %q", es, r.RolledBack())
		}
	}
}

func TestPendingMetric(t *testing.T) {
	r := newRig(t, "tprouter-b+3.conf", map[string]string{"tprouter-a.conf": "1", "tprouter-b+2-1.conf": "2"})
	var m strings.Builder
	r.WriteMetrics(&m)
	if !strings.Contains(m.String(), "tprouter_update_pending_blessing 1\n") {
		t.Errorf("metrics:\n%s", m.String())
	}
}
