package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"syncer/internal/testdb"
)

// SIGHUP is handled like SIGTERM: the running run gets the grace, finishes
// and is recorded, and the process exits 0 (it used to die at once with
// 129, its run left 'running').
func TestSIGHUPStopsLikeSIGTERM(t *testing.T) {
	t.Parallel()
	db, url := testdb.NewWithURL(t)
	_, simURL := dripSim(t, 1500)
	p := startProc(t, mgidEnv(url, simURL, "SYNCER_SHUTDOWN_GRACE=30s", "JOB_MGID_SPEND_ENABLED=false"), "run")
	waitFor(t, 30*time.Second, "the catch-up run", func() bool {
		return testdb.Count(t, db, `SELECT count(*) FROM syncer.runs WHERE status = 'running'`) == 1
	})
	p.signal(syscall.SIGHUP)
	if code := p.wait(30 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGHUP\n%s", code, p.out.String())
	}
	if runs := runsOf(t, db, "mgid-balances", "catchup"); len(runs) != 1 || runs[0].status != "succeeded" {
		t.Errorf("runs %+v, want the catch-up run succeeded", runs)
	}
	if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.runs WHERE status = 'running'`); n != 0 {
		t.Errorf("%d runs left running", n)
	}
	if !strings.Contains(p.out.String(), "stopping: no new runs") {
		t.Errorf("no orderly stop logged:\n%s", p.out.String())
	}
}
