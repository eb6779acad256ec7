package jobs_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"syncer/internal/jobs"
	"syncer/internal/providers/firstlight"
	"syncer/internal/providers/gmedia"
	"syncer/internal/sim"
	"syncer/internal/testdb"
	"syncer/internal/testutil"
	"syncer/internal/tracked"
)

// Firstlight faults: what is ours (the IAM token, the client credentials,
// the token endpoint) fails the round and changes no target; what is the
// user's (a refused user token) is an auth_failed result on that target.
func TestProviderFaultsFirstlight(t *testing.T) {
	t.Parallel()
	type client struct {
		static     string // a static IAM token, or
		secret     string // the client secret of the client-credentials grant
		timeout    time.Duration
		userTokens map[string]string
	}
	good := client{secret: "sim-firstlight-secret", userTokens: map[string]string{"FIRSTLIGHT_USER_TOKEN_U": "ut-good"}}
	cases := []struct {
		name    string
		client  client
		faults  sim.Faults
		want    string
		class   []string
		changed bool   // target statuses may change
		outcome string // every target's current outcome after the run ("": as before)
		expire  int32  // every issued token expires at this checkredeem request of the faulted run
	}{
		{name: "wrong static IAM token", client: client{static: "wrong-iam", userTokens: good.userTokens},
			want: jobs.StatusFailed, class: []string{"auth"}},
		{name: "client secret refused by the token endpoint", client: client{secret: "wrong-secret", userTokens: good.userTokens},
			want: jobs.StatusFailed, class: []string{"auth"}},
		{name: "bad user token stays per target", client: client{secret: good.secret, userTokens: map[string]string{"FIRSTLIGHT_USER_TOKEN_U": "bad-user-token"}},
			want: jobs.StatusSucceeded, changed: true, outcome: "auth_failed"},
		{name: "token expiry mid-run", client: good, expire: 3, want: jobs.StatusSucceeded, changed: true},
		{name: "token endpoint hanging", client: client{secret: good.secret, timeout: 200 * time.Millisecond, userTokens: good.userTokens},
			faults: sim.Faults{Mode: sim.FaultTokenHang}, want: jobs.StatusFailed, class: []string{"timeout", "retryable"}},
		{name: "token endpoint failing", client: good, faults: sim.Faults{Mode: sim.FaultTokenError},
			want: jobs.StatusFailed, class: []string{"retryable"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := testdb.New(t)
			clk := testutil.NewClock(trT0)
			var redeems, expireAt atomic.Int32
			s, url := startSim(t, sim.Options{Now: clk.Now}, func(h http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					if r.URL.Path == sim.PathFirstlightRedeem && redeems.Add(1) == expireAt.Load() {
						h.(*sim.Server).ExpireTokens()
					}
					h.ServeHTTP(w, r)
				})
			})
			trTrackFirstlight(t, db, "U", "c-1", "c-2", "c-3", "c-4", "c-5", "c-6")
			newClient := func(c client) *firstlight.Client {
				hc := &http.Client{Timeout: 2 * time.Second}
				if c.timeout > 0 {
					hc.Timeout = c.timeout
				}
				var creds firstlight.Credentials
				if c.static != "" {
					creds.IAMToken = c.static
				} else {
					creds.TokenURL, creds.ClientID, creds.ClientSecret = url+sim.PathFirstlightToken, "sim-firstlight", c.secret
				}
				return firstlight.New(url+sim.PathFirstlightRedeem, creds, firstlight.WithHTTPClient(hc), firstlight.WithRetry(fpRetry))
			}
			job := func(c client) jobs.Job {
				return &jobs.FirstlightRedeem{Firstlight: newClient(c), DB: db, Settings: trSettings(), Replica: "r", Now: clk.Now,
					UserTokens: tracked.UserTokens{Getenv: trEnv(c.userTokens)}}
			}
			runner := newRunner(db, "r", clk.Now)
			opts := jobs.Options{Trigger: jobs.TriggerManual}
			if res := runner.Execute(ctx, job(good), opts); res.Status != jobs.StatusSucceeded {
				t.Fatalf("baseline: %+v", res)
			}
			tables := []string{"syncer.tracked_status_history", "bi.firstlight_redeem_current"}
			before := fpFingerprint(t, db, tables...)
			history := testdb.Count(t, db, `SELECT count(*) FROM syncer.tracked_status_history`)

			clk.Advance(time.Hour) // every target is due again
			s.SetFaults(tc.faults)
			if tc.expire > 0 {
				expireAt.Store(redeems.Load() + tc.expire)
			}
			tokens := s.Requests(sim.EndpointFirstlightToken)
			res := runner.Execute(ctx, job(tc.client), opts)
			// A new client fetches one token; the expiry must cost a second.
			if got := s.Requests(sim.EndpointFirstlightToken) - tokens; tc.expire > 0 && got < 2 {
				t.Errorf("%d token fetches: the expiry did not happen mid-run", got)
			}
			status, class, msg := fpRunRecord(t, db, res.RunID)
			if status != tc.want {
				t.Fatalf("run %s class %q (%s), want %s", status, class, msg, tc.want)
			}
			if tc.want == jobs.StatusFailed && !contains(tc.class, class) {
				t.Errorf("class %q (%s), want one of %v", class, msg, tc.class)
			}
			if !tc.changed {
				if after := fpFingerprint(t, db, tables...); after != before {
					t.Error("a failed round changed a target's status")
				}
				if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.tracked_targets WHERE lease_until IS NOT NULL`); n != 0 {
					t.Errorf("%d targets left leased", n)
				}
			}
			if tc.outcome != "" {
				if n := testdb.Count(t, db, `SELECT count(*) FROM bi.firstlight_redeem_current WHERE last_check_outcome = $1`, tc.outcome); n != 6 {
					t.Errorf("%d targets %s, want all 6", n, tc.outcome)
				}
			}
			if tc.want == jobs.StatusSucceeded && tc.outcome == "" {
				if n := testdb.Count(t, db, `SELECT count(*) FROM bi.firstlight_redeem_current WHERE last_check_outcome IN ('auth_failed', 'provider_error')`); n != 0 {
					t.Errorf("%d targets auth_failed or provider_error after the run", n)
				}
			}
			// Never two open periods for a target, never history lost.
			if n := testdb.Count(t, db, `SELECT count(*) FROM (SELECT target_id FROM syncer.tracked_status_history WHERE valid_to IS NULL GROUP BY target_id HAVING count(*) > 1) d`); n != 0 {
				t.Errorf("%d targets with two open periods", n)
			}
			if n := testdb.Count(t, db, `SELECT count(*) FROM syncer.tracked_status_history`); n < history {
				t.Errorf("history went from %d to %d rows", history, n)
			}
		})
	}
}

// Gmedia faults: garbage on a target's answer is retried like a 5xx and
// then recorded on that target; the token endpoint failing is ours and
// fails the round with no target changed.
func TestProviderFaultsMawthoq(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		faults  sim.Faults
		timeout time.Duration
		want    string
		class   string
		changed bool
		errors  int64 // targets provider_error after the run
	}{
		{name: "HTML page with 200 burst", faults: sim.Faults{Mode: sim.FaultHTML200, Burst: 1, Endpoint: sim.EndpointGmediaCheck},
			want: jobs.StatusSucceeded, changed: true, errors: 0},
		{name: "HTML page with 200 persisting", faults: sim.Faults{Mode: sim.FaultHTML200, Endpoint: sim.EndpointGmediaCheck},
			want: jobs.StatusSucceeded, changed: true, errors: 5},
		{name: "5xx burst", faults: sim.Faults{Mode: sim.Fault5xx, Burst: 2, Endpoint: sim.EndpointGmediaCheck},
			want: jobs.StatusSucceeded, changed: true, errors: 0},
		{name: "token endpoint hanging", faults: sim.Faults{Mode: sim.FaultTokenHang}, timeout: 200 * time.Millisecond,
			want: jobs.StatusFailed, class: "timeout"},
		{name: "token endpoint failing", faults: sim.Faults{Mode: sim.FaultTokenError}, want: jobs.StatusFailed, class: "retryable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			db := testdb.New(t)
			clk := testutil.NewClock(trT0)
			s, url := startSim(t, sim.Options{Now: clk.Now}, nil)
			trSeedMawthoq(t, db, "tiktok", 5)
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 2 * time.Second
			}
			newJob := func(timeout time.Duration) jobs.Job {
				gm := gmedia.New(url+sim.PathGmediaCheck,
					gmedia.Credentials{TokenURL: url + sim.PathGmediaToken, ClientID: "sim-gmedia", ClientSecret: "sim-gmedia-secret"},
					gmedia.WithHTTPClient(&http.Client{Timeout: timeout}), gmedia.WithRetry(fpRetry))
				return &jobs.MawthoqRecheck{Gmedia: gm, DB: db, Settings: trSettings(), Replica: "r", Now: clk.Now}
			}
			runner := newRunner(db, "r", clk.Now)
			opts := jobs.Options{Trigger: jobs.TriggerManual}
			if res := runner.Execute(ctx, newJob(timeout), opts); res.Status != jobs.StatusSucceeded {
				t.Fatalf("baseline: %+v", res)
			}
			tables := []string{"syncer.tracked_status_history", "bi.mawthoq_status_current"}
			before := fpFingerprint(t, db, tables...)
			clk.Advance(time.Hour)
			s.SetFaults(tc.faults)
			res := runner.Execute(ctx, newJob(timeout), opts)
			status, class, msg := fpRunRecord(t, db, res.RunID)
			if status != tc.want || (tc.want == jobs.StatusFailed && class != tc.class) {
				t.Fatalf("run %s class %q (%s), want %s %s", status, class, msg, tc.want, tc.class)
			}
			if !tc.changed && fpFingerprint(t, db, tables...) != before {
				t.Error("a failed round changed a target's status")
			}
			if n := testdb.Count(t, db, `SELECT count(*) FROM bi.mawthoq_status_current WHERE last_check_outcome = 'provider_error'`); tc.changed && n != tc.errors {
				t.Errorf("%d targets provider_error, want %d", n, tc.errors)
			}
			if n := testdb.Count(t, db, `SELECT count(*) FROM (SELECT target_id FROM syncer.tracked_status_history WHERE valid_to IS NULL GROUP BY target_id HAVING count(*) > 1) d`); n != 0 {
				t.Errorf("%d targets with two open periods", n)
			}
		})
	}
}
