package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"syncer/internal/config"
	"syncer/internal/money"
	"syncer/internal/sim"
	"syncer/internal/store"
	"syncer/internal/testdb"
)

// The status page in a real headless Chromium, served by a real `syncer
// run` (the built binary) against a real `syncer sim` process: every
// enabled job is listed; after the simulator is killed, the failed run and
// the unhealthy verdict show; screenshots at desktop and phone sizes are
// written to the test's artifact directory (go test -artifacts keeps them).
// Chromium missing is a failure, not a skip: scripts/deps.sh installs it.
func TestStatusPageInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium is not installed: run scripts/deps.sh (Debian: apt-get install -y chromium); this test needs a real browser")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	out := t.ArtifactDir()
	bin := syncerBinary(t)
	db, dbURL := testdb.NewWithURL(t)

	simProc, simURL := startProcess(t, ctx, bin, nil, regexp.MustCompile(`http://127\.0\.0\.1:\d+`), filepath.Join(out, "sim.log"),
		"sim", "--addr", "127.0.0.1:0", "--clients", "40")
	tokens := t.TempDir()
	if err := os.WriteFile(filepath.Join(tokens, "VIEWER"), []byte("ut-browser-viewer\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	environ := []string{
		"DATABASE_URL=" + dbURL, "SYNCER_HTTP_ADDR=127.0.0.1:0", "SYNCER_LOG_LEVEL=info",
		"MGID_BASE_URL=" + simURL, "MGID_LOGIN=" + sim.DemoLogin, "MGID_PASSWORD=" + sim.DemoPassword,
		"JOB_MGID_BALANCES_SCHEDULE=@every 2s",
		"SYNCER_HASH_KEY=browser-test-hash-key-0001",
		"JOB_MAWTHOQ_RECHECK_ENABLED=true", "JOB_FIRSTLIGHT_REDEEM_ENABLED=true",
		"GMEDIA_TOKEN_URL=" + simURL + sim.PathGmediaToken, "GMEDIA_CHECK_URL=" + simURL + sim.PathGmediaCheck,
		"GMEDIA_CLIENT_ID=sim-gmedia", "GMEDIA_CLIENT_SECRET=sim-gmedia-secret",
		"FIRSTLIGHT_URL=" + simURL + sim.PathFirstlightRedeem, "FIRSTLIGHT_IAM_TOKEN=sim-iam-token",
		"FIRSTLIGHT_USER_TOKEN_DIR=" + tokens,
	}
	enabled := []string{config.JobMGIDBalances, config.JobMGIDSpend, config.JobMawthoqRecheck, config.JobFirstlightRedeem}

	// History for the coverage map: a backfill three weeks back leaves the
	// days between it and the daemon's lookback missing.
	for _, args := range [][]string{
		{"mawthoq", "track", "add", "--platform", "tiktok", "--account", "1000000008"},
		{"mawthoq", "track", "add", "--platform", "youtube", "--account", "1234567897"},
		{"firstlight", "track", "add", "--name", "browser", "--device-id", "d1", "--content-id", "c1",
			"--content-type", "vod", "--catalog-type", "movie", "--delivery", "streaming", "--user-token-ref", "VIEWER"},
		{"backfill", "mgid-spend", "--from", time.Now().UTC().AddDate(0, 0, -24).Format(time.DateOnly), "--to", time.Now().UTC().AddDate(0, 0, -14).Format(time.DateOnly)},
	} {
		if r := syncer(ctx, environ, args...); r.code != 0 {
			t.Fatalf("syncer %v: exit %d\n%s%s", args, r.code, r.stdout, r.stderr)
		}
	}
	// A job the daemon does not run, run once by hand: the page must still
	// call it disabled, not show its manual run as its outcome.
	if r := syncer(ctx, append(environ, "SYNCER_RETENTION_DETAIL_DAYS=30"), "once", "mgid-retention"); r.code != 0 {
		t.Fatalf("once mgid-retention: exit %d\n%s", r.code, r.stderr)
	}
	// A transfer whose outcome nobody knows: the page must ask for a person.
	sent := time.Now().Add(-2 * time.Hour)
	if _, err := db.InsertTransfer(ctx, store.Transfer{AgencyID: sim.DemoAgencyID, ClientID: 4242,
		Amount: money.MustParse("120.00"), AccountType: "personal", Origin: store.OriginManual, RequestedBy: "browser-test",
		Status: store.TransferUnknown, CreatedAt: sent, SentAt: &sent}); err != nil {
		t.Fatal(err)
	}

	run, addr := startProcess(t, ctx, bin, environ, regexp.MustCompile(`msg="http listening" addr=(127\.0\.0\.1:\d+)`), filepath.Join(out, "run.log"), "run")
	page := "http://" + addr + "/"

	waitPage(t, ctx, page, `data-job="mgid-balances" data-outcome="succeeded"`)
	dom := dumpDOM(t, ctx, chromium, page)
	for _, j := range enabled {
		if !strings.Contains(dom, `data-job="`+j+`"`) {
			t.Errorf("the page in Chromium does not list enabled job %s", j)
		}
	}

	// The fault: the providers' process dies. The next mgid-balances tick fails.
	if err := simProc.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitPage(t, ctx, page, `data-job="mgid-balances" data-outcome="failed"`)
	// The page's sections come from separately cached reads: the failing
	// streak can show a refresh after the outcome (seen once at load 3).
	waitPage(t, ctx, page, `<span class="failing">failing since `)
	dom = dumpDOM(t, ctx, chromium, page)
	for _, want := range []string{
		`data-healthy="false"`, "Unhealthy", "Job mgid-balances: the last run failed (retryable).",
		`data-job="mgid-balances" data-outcome="failed"`, `class="unknown-transfer"`, "120.00",
		`data-series="mgid-spend · agency 1001"`, `class="c-missing"`,
		`data-job="mgid-retention" data-outcome="disabled"`, `<span class="muted last-outcome">last run succeeded</span>`,
		`<span class="failing">failing since `, `aria-label="mgid-balances last outcomes, oldest first"`, `class="s-bad"`,
		"run syncer mgid transfers reconcile once MGID answers",
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("after the simulator died, the page in Chromium lacks %q", want)
		}
	}
	for _, size := range []string{"1400,900", "390,844"} {
		shot := filepath.Join(out, "status-"+strings.Replace(size, ",", "x", 1)+".png")
		chrome(t, ctx, chromium, "--screenshot="+shot, "--window-size="+size, "--hide-scrollbars", page)
		if st, err := os.Stat(shot); err != nil || st.Size() < 10_000 {
			t.Fatalf("screenshot %s: %v (%d bytes)", shot, err, sizeOf(st))
		}
		t.Logf("screenshot: %s", shot)
	}
	if err := os.WriteFile(filepath.Join(out, "status.html"), []byte(dom), 0o644); err != nil {
		t.Fatal(err)
	}

	// SIGTERM: the daemon stops cleanly.
	_ = run.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- run.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("syncer run after SIGTERM: %v", err)
		}
	case <-time.After(45 * time.Second):
		t.Error("syncer run did not stop within 45s of SIGTERM")
	}
}

func sizeOf(st os.FileInfo) int64 {
	if st == nil {
		return 0
	}
	return st.Size()
}

// startProcess runs bin args, copies its output to logPath, and waits for
// a line matching ready; it returns the first submatch (or the match).
func startProcess(t *testing.T, ctx context.Context, bin string, environ []string, ready *regexp.Regexp, logPath string, args ...string) (*exec.Cmd, string) {
	t.Helper()
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, environ...)
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		pw.Close()
		logf.Close()
	})
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			logf.WriteString(line + "\n")
			if m := ready.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[len(m)-1]:
				default:
				}
			}
		}
	}()
	select {
	case v := <-found:
		return cmd, v
	case <-time.After(30 * time.Second):
	case <-ctx.Done():
	}
	t.Fatalf("syncer %v did not print %s within 30s; log in %s", args, ready, logPath)
	return nil, ""
}

// waitPage polls the page over plain HTTP until it contains want.
func waitPage(t *testing.T, ctx context.Context, url, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last string
	for time.Now().Before(deadline) && ctx.Err() == nil {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = string(b)
			if strings.Contains(last, want) {
				return
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("the page never showed %q; last page:\n%s", want, last)
}

func dumpDOM(t *testing.T, ctx context.Context, chromium, url string) string {
	t.Helper()
	return chrome(t, ctx, chromium, "--dump-dom", url)
}

// chrome runs headless Chromium once with its own profile directory.
func chrome(t *testing.T, ctx context.Context, chromium string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--no-first-run", "--disable-dev-shm-usage", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, chromium, append(base, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
	}
	return string(out)
}
