package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"syncer/internal/sim"
	"syncer/internal/store"
	"syncer/internal/testdb"
	"syncer/internal/tracked"
)

const (
	trackHashKey   = "cli-test-hash-key-0123"
	trackUserToken = "ut-canary-viewer-token-4417"
)

type trackCLI struct {
	t     *testing.T
	db    *store.DB
	dbURL string
	env   []string
	dir   string          // FIRSTLIGHT_USER_TOKEN_DIR
	out   strings.Builder // the transcript of want's commands, for the golden file
}

// newTrackCLI: a database and no provider credentials at all; the track
// commands need none, even with the tracked jobs enabled.
func newTrackCLI(t *testing.T, extra ...string) *trackCLI {
	t.Helper()
	db, dbURL := testdb.NewWithURL(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "VIEWER"), []byte(trackUserToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append([]string{"DATABASE_URL=" + dbURL, "SYNCER_HASH_KEY=" + trackHashKey, "SYNCER_LOG_LEVEL=debug",
		"FIRSTLIGHT_USER_TOKEN_DIR=" + dir, "FIRSTLIGHT_USER_TOKEN_FROMENV=ut-env-token",
		"JOB_MAWTHOQ_RECHECK_ENABLED=true", "JOB_FIRSTLIGHT_REDEEM_ENABLED=true"}, extra...)
	return &trackCLI{t: t, db: db, dbURL: dbURL, env: env, dir: dir}
}

func (c *trackCLI) run(args ...string) result {
	c.t.Helper()
	r := syncer(context.Background(), c.env, args...)
	if strings.Contains(r.stdout+r.stderr, trackUserToken) || strings.Contains(r.stdout+r.stderr, "ut-env-token") {
		c.t.Errorf("syncer %v printed a user token", args)
	}
	return r
}

func (c *trackCLI) csv(name, content string) string {
	c.t.Helper()
	p := filepath.Join(c.t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		c.t.Fatal(err)
	}
	return p
}

// want runs syncer, checks its exit status and adds what it printed to the
// transcript that golden compares with the test's golden file.
func (c *trackCLI) want(code int, args ...string) result {
	c.t.Helper()
	r := c.run(args...)
	if r.code != code {
		c.t.Errorf("syncer %v: exit %d, want %d\nstdout: %s\nstderr: %s", args, r.code, code, r.stdout, r.stderr)
	}
	c.out.WriteString(render(args, r) + "\n")
	return r
}

// golden compares the transcript of want's commands with the golden file.
func (c *trackCLI) golden(extra ...string) {
	c.t.Helper()
	golden(c.t, normalize(c.out.String(), append([]string{c.dbURL, "$DATABASE_URL", c.dir, "$FIRSTLIGHT_USER_TOKEN_DIR"}, extra...)...))
}

func TestTrackBadInputExitsTwoAndWritesNothing(t *testing.T) {
	t.Parallel()
	c := newTrackCLI(t)
	badCSV := c.csv("bad.csv", "platform,account,label\n"+
		"tiktok,1000000008,fine\n"+ // line 2
		"linkedin,2000000006,x\n"+ // line 3
		"tiktok,1000000000,x\n"+ // line 4
		"x,2000000006,fine too\n"+ // line 5
		"TikTok,1000000008,again\n"+ // line 6: the same target as line 2
		"youtube,1234567897\n"+ // line 7: a field short
		"\"youtube\",\"1234567897\",\"two\nlines\"\n"+ // line 8 (to 9): control character
		"snapchat,3000000004,\n") // line 10
	flBad := c.csv("fl.csv", "name,device_id,content_id,content_type,catalog_type,delivery,user_token_ref\n"+
		"ok,dev,c1,vod,movie,streaming,VIEWER\n"+ // line 2
		"enum,dev,c2,VOD,movie,streaming,VIEWER\n"+ // line 3: case-sensitive
		"cat,dev,c3,vod,film,streaming,VIEWER\n"+ // line 4
		"ref,dev,c4,vod,movie,download,NOBODY\n"+ // line 5: does not resolve
		"ok,dev,c5,live,channel,streaming,FROMENV\n") // line 6: the same name as line 2
	add := func(args ...string) []string { return append([]string{"mawthoq", "track", "add"}, args...) }
	fl := func(args ...string) []string { return append([]string{"firstlight", "track"}, args...) }
	flAdd := func(name, ctype, catalog, delivery, ref string) []string {
		return fl("add", "--name", name, "--device-id", "dev-1", "--content-id", "c-1", "--content-type", ctype,
			"--catalog-type", catalog, "--delivery", delivery, "--user-token-ref", ref)
	}
	cases := []struct {
		name string
		env  []string // replaces the environment when set
		args []string
		want []string
	}{
		{"check digit", nil, add("--platform", "tiktok", "--account", "1000000000"), []string{"check digit is wrong"}},
		{"not citizen or resident", nil, add("--platform", "tiktok", "--account", "3000000004"), []string{"start with 1 (citizen) or 2 (resident)"}},
		{"too short", nil, add("--platform", "tiktok", "--account", "100000008"), []string{"10 digits"}},
		{"arabic digits", nil, add("--platform", "tiktok", "--account", "١٠٠٠٠٠٠٠٠٨"), []string{"10 digits"}},
		{"unknown platform", nil, add("--platform", "linkedin", "--account", "1000000008"), []string{`unknown platform "linkedin"`, "snapchat, twitter"}},
		{"no platform", nil, add("--account", "1000000008"), []string{"--platform is required"}},
		{"no account", nil, add("--platform", "x"), []string{"--account is required"}},
		{"label with a newline", nil, add("--platform", "x", "--account", "1000000008", "--label", "a\nb"), []string{"label contains a control character"}},
		{"stray argument", nil, add("--platform", "x", "--account", "1000000008", "extra"), []string{"takes no arguments"}},
		{"no hash key", []string{"DATABASE_URL=postgres://nowhere/x"}, add("--platform", "x", "--account", "1000000008"), []string{"SYNCER_HASH_KEY: required"}},
		{"short hash key", []string{"DATABASE_URL=postgres://nowhere/x", "SYNCER_HASH_KEY=short"}, add("--platform", "x", "--account", "1000000008"), []string{"too short"}},
		{"remove untracked", nil, []string{"mawthoq", "track", "remove", "--platform", "tiktok", "--account", "1000000008"}, []string{"tiktok ******0008 is not tracked"}},
		{"unknown subcommand", nil, []string{"mawthoq", "track", "frob"}, []string{"want add, remove, list or import"}},
		{"no subcommand", nil, []string{"mawthoq"}, []string{"usage: syncer mawthoq track add"}},
		{"import bad rows", nil, []string{"mawthoq", "track", "import", badCSV}, []string{
			"line 3: unknown platform", "line 4: account check digit is wrong", "line 6: the same target as line 2",
			"line 7: 2 fields, want 3", "line 8: label contains a control character", "line 10: account must start with 1",
			"6 of 8 rows are invalid; nothing was imported", "--skip-invalid"}},
		{"import no such file", nil, []string{"mawthoq", "track", "import", "/nonexistent/x.csv"}, []string{"no such file"}},
		{"import wrong header", nil, []string{"mawthoq", "track", "import", c.csv("h.csv", "platform,acct\nx,1000000008\n")}, []string{`unknown column "acct"`}},
		{"import empty file", nil, []string{"mawthoq", "track", "import", c.csv("e.csv", "")}, []string{"the file is empty"}},
		{"content type case", nil, flAdd("n", "VOD", "movie", "streaming", "VIEWER"), []string{`content type "VOD" is not allowed: want one of live, vod`}},
		{"catalog type", nil, flAdd("n", "vod", "film", "streaming", "VIEWER"), []string{`catalog type "film" is not allowed`}},
		{"delivery", nil, flAdd("n", "vod", "movie", "stream", "VIEWER"), []string{`delivery "stream" is not allowed`}},
		{"token ref shape", nil, flAdd("n", "vod", "movie", "streaming", "../VIEWER"), []string{"user token reference \"../VIEWER\": want 1 to 64 of A-Z"}},
		{"unknown token ref", nil, flAdd("n", "vod", "movie", "streaming", "NOBODY"), []string{"--user-token-ref: user token reference NOBODY does not resolve", "FIRSTLIGHT_USER_TOKEN_NOBODY"}},
		{"no name", nil, flAdd("", "vod", "movie", "streaming", "VIEWER"), []string{"name is required"}},
		{"firstlight remove untracked", nil, fl("remove", "--name", "nope"), []string{`check "nope" is not tracked`}},
		{"firstlight import bad rows", nil, fl("import", flBad), []string{
			`line 3: content type "VOD" is not allowed`, `line 4: catalog type "film"`, "line 5: user token reference NOBODY does not resolve",
			"line 6: the same target as line 2", "4 of 5 rows are invalid; nothing was imported"}},
	}
	// The message of each case is in its golden file; want is what it
	// must name, checked too so that -update cannot drop it unnoticed.
	t.Run("cases", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				env := c.env
				if tc.env != nil {
					env = tc.env
				}
				r := syncer(context.Background(), env, tc.args...)
				if r.code != exitBadArgs {
					t.Errorf("exit %d, want 2\nstderr: %s", r.code, r.stderr)
				}
				for _, w := range tc.want {
					if !strings.Contains(r.stderr, w) {
						t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
					}
				}
				for _, secret := range []string{"1000000000", "3000000004", "2000000006", "1234567897", trackUserToken} {
					if strings.Contains(r.stdout+r.stderr, secret) {
						t.Errorf("output shows %s", secret)
					}
				}
				golden(t, normalize(render(tc.args, r), c.dbURL, "$DATABASE_URL", c.dir, "$FIRSTLIGHT_USER_TOKEN_DIR"))
			})
		}
	})
	if n := testdb.Count(t, c.db, "SELECT count(*) FROM syncer.tracked_targets"); n != 0 {
		t.Errorf("rejected commands wrote %d targets", n)
	}
}

func TestMawthoqTrackCommands(t *testing.T) {
	t.Parallel()
	c := newTrackCLI(t)
	c.want(0, "mawthoq", "track", "add", "--platform", "TikTok", "--account", "1000000008", "--label", "shop one")
	c.want(0, "mawthoq", "track", "add", "--platform", "X", "--account", "2000000006")
	c.want(0, "mawthoq", "track", "add", "--platform", "tiktok", "--account", "1000000008")
	r := c.want(0, "mawthoq", "track", "list")
	if strings.Contains(r.stdout, "1000000008") || strings.Contains(r.stdout, "2000000006") {
		t.Errorf("list shows full numbers:\n%s", r.stdout)
	}
	c.want(0, "mawthoq", "track", "remove", "--platform", "twitter", "--account", "2000000006")
	if r := c.want(0, "mawthoq", "track", "list"); strings.Contains(r.stdout, "0006") {
		t.Errorf("a removed target is listed:\n%s", r.stdout)
	}
	c.want(0, "mawthoq", "track", "list", "--all")
	c.want(0, "mawthoq", "track", "add", "--platform", "twitter", "--account", "2000000006")

	good := "platform,account,label\ntiktok,1000000008,shop one\nyoutube,1234567897,\nsnapchat,2345678904,third\n"
	file := c.csv("good.csv", good)
	c.want(0, "mawthoq", "track", "import", file)
	c.want(0, "mawthoq", "track", "import", file)
	mixed := c.csv("mixed.csv", "\uFEFFLabel,Platform,Account\nnew,instagram,1999999996\nbad,instagram,1999999990\n")
	c.want(2, "mawthoq", "track", "import", mixed)
	c.want(0, "mawthoq", "track", "import", "--skip-invalid", mixed)
	c.golden()
	if n := testdb.Count(t, c.db, "SELECT count(*) FROM syncer.tracked_targets WHERE active"); n != 5 {
		t.Errorf("%d active targets, want 5", n)
	}
	var hash string
	if err := testdb.QueryRow(t, c.db, `SELECT subject_hash FROM syncer.tracked_targets WHERE natural_key = 'tiktok:1000000008'`).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if hash != tracked.AccountHash([]byte(trackHashKey), "1000000008") {
		t.Errorf("stored hash %s is not the keyed hash of the account", hash)
	}
}

func TestFirstlightTrackCommands(t *testing.T) {
	t.Parallel()
	c := newTrackCLI(t)
	c.want(0, "firstlight", "track", "add", "--name", "movie night", "--device-id", "dev-1", "--content-id", "c-1",
		"--content-type", "vod", "--catalog-type", "movie", "--delivery", "streaming", "--user-token-ref", "VIEWER")
	file := c.csv("fl.csv", "name,device_id,content_id,content_type,catalog_type,delivery,user_token_ref\n"+
		"movie night,dev-1,c-1,vod,movie,streaming,VIEWER\n"+
		"match,dev-2,c-2,live,sportliveevent,streaming,FROMENV\n")
	c.want(0, "firstlight", "track", "import", file)
	c.want(0, "firstlight", "track", "import", file)
	c.want(0, "firstlight", "track", "list")
	c.want(0, "firstlight", "track", "remove", "--name", "match")
	c.golden()
	if n := testdb.Count(t, c.db, "SELECT count(*) FROM syncer.tracked_targets WHERE active"); n != 1 {
		t.Errorf("%d active targets, want 1", n)
	}
	var params string
	if err := testdb.QueryRow(t, c.db, `SELECT string_agg(params::text, ' ') FROM syncer.tracked_targets`).Scan(&params); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(params, "ut-") || !strings.Contains(params, `"user_token_ref": "VIEWER"`) {
		t.Errorf("stored params: %s", params)
	}
}

// The demo path: track against the simulator, run both jobs once, and the
// bi views hold masked accounts, their keyed hashes and the outcomes; no
// secret or full number reaches a view, a table or the output.
func TestTrackedJobsOnceFillViews(t *testing.T) {
	t.Parallel()
	const gmSecret, flSecret = "canary-gm-secret-1129", "canary-fl-secret-9043"
	simURL := startSim(t, sim.Options{GmediaClientSecret: gmSecret, FirstlightClientSecret: flSecret})
	c := newTrackCLI(t,
		"JOB_MGID_BALANCES_ENABLED=false", "JOB_MGID_SPEND_ENABLED=false",
		"GMEDIA_TOKEN_URL="+simURL+sim.PathGmediaToken, "GMEDIA_CHECK_URL="+simURL+sim.PathGmediaCheck,
		"GMEDIA_CLIENT_ID=sim-gmedia", "GMEDIA_CLIENT_SECRET="+gmSecret,
		"FIRSTLIGHT_URL="+simURL+sim.PathFirstlightRedeem, "FIRSTLIGHT_TOKEN_URL="+simURL+sim.PathFirstlightToken,
		"FIRSTLIGHT_CLIENT_ID=sim-firstlight", "FIRSTLIGHT_CLIENT_SECRET="+flSecret)
	accounts := []string{"1000000008", "2000000006", "1234567897"}
	for i, a := range accounts {
		c.want(0, "mawthoq", "track", "add", "--platform", []string{"tiktok", "x", "youtube"}[i], "--account", a)
	}
	for _, n := range []string{"one", "two"} {
		c.want(0, "firstlight", "track", "add", "--name", n, "--device-id", "dev-"+n, "--content-id", "content-"+n,
			"--content-type", "vod", "--catalog-type", "movie", "--delivery", "download", "--user-token-ref", "VIEWER")
	}
	r := c.want(0, "once", "mawthoq-recheck", "firstlight-redeem")
	c.want(0, "views")
	c.golden(simURL, "$SIM_URL")

	rows, err := testdb.Query(t, c.db, `SELECT account_masked, account_hash, last_check_outcome FROM bi.mawthoq_status_current ORDER BY target_id`)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	for rows.Next() {
		var masked, hash, outcome string
		if err := rows.Scan(&masked, &hash, &outcome); err != nil {
			t.Fatal(err)
		}
		a := accounts[i]
		if masked != "******"+a[6:] || hash != tracked.AccountHash([]byte(trackHashKey), a) || (outcome != "found" && outcome != "not_found") {
			t.Errorf("account %d: %s %s %s", i, masked, hash, outcome)
		}
		i++
	}
	rows.Close()
	if i != 3 {
		t.Fatalf("%d rows in bi.mawthoq_status_current, want 3", i)
	}
	if n := testdb.Count(t, c.db, "SELECT count(*) FROM bi.firstlight_redeem_current WHERE last_check_outcome = entitlement AND tracking_id IS NOT NULL"); n != 2 {
		t.Errorf("%d answered firstlight checks, want 2", n)
	}
	var views, tables string
	q := func(sql string, into *string) {
		if err := testdb.QueryRow(t, c.db, sql).Scan(into); err != nil {
			t.Fatal(err)
		}
	}
	q(`SELECT (SELECT coalesce(string_agg(row_to_json(v)::text, ' '), '') FROM bi.mawthoq_status_current v) ||
	          (SELECT coalesce(string_agg(row_to_json(v)::text, ' '), '') FROM bi.mawthoq_status_history v)`, &views)
	q(`SELECT (SELECT string_agg(row_to_json(t)::text, ' ') FROM syncer.tracked_targets t) ||
	          (SELECT string_agg(row_to_json(h)::text, ' ') FROM syncer.tracked_status_history h) ||
	          (SELECT string_agg(row_to_json(r)::text, ' ') FROM syncer.runs r)`, &tables)
	for _, a := range accounts {
		if strings.Contains(views, a) {
			t.Errorf("a bi view shows account %s in full", a)
		}
	}
	for _, s := range []string{gmSecret, flSecret, trackUserToken, trackHashKey} {
		if strings.Contains(tables+r.stdout+r.stderr, s) {
			t.Errorf("%s appears in a table or the output", s)
		}
	}
}
