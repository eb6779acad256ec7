package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"syncer/internal/config"
	"syncer/internal/jobs"
	"syncer/internal/providers/firstlight"
	"syncer/internal/providers/gmedia"
	"syncer/internal/store"
	"syncer/internal/tracked"
)

// buildMawthoqJob and buildFirstlightJob wire the tracked checks: a provider
// client whose HTTP client keeps one connection per worker, the
// tracked-check settings, and this process as the holder of its leases.
func (a *app) buildMawthoqJob() (jobs.Job, error) {
	g := a.cfg.Gmedia
	client := gmedia.New(g.CheckURL,
		gmedia.Credentials{TokenURL: g.TokenURL, ClientID: g.ClientID, ClientSecret: g.ClientSecret.Value()},
		gmedia.WithHTTPClient(a.httpClient(tracked.HTTPClient(g.RequestTimeout, g.Check.Concurrency))),
		gmedia.WithCheckMethod(g.CheckMethod), gmedia.WithClientIDKey(g.ClientIDKey))
	return &jobs.MawthoqRecheck{Gmedia: client, DB: a.db, Settings: g.Check, Replica: a.runner.Replica}, nil
}

func (a *app) buildFirstlightJob() (jobs.Job, error) {
	f := a.cfg.Firstlight
	client := firstlight.New(f.URL,
		firstlight.Credentials{IAMToken: f.IAMToken.Value(), TokenURL: f.TokenURL, ClientID: f.ClientID, ClientSecret: f.ClientSecret.Value()},
		firstlight.WithHTTPClient(a.httpClient(tracked.HTTPClient(f.RequestTimeout, f.Check.Concurrency))))
	// The process environment: user tokens are read at run time, so a
	// rotated one is picked up without a restart (files) or with one (env).
	tokens := tracked.UserTokens{Getenv: os.Getenv, Dir: f.UserTokenDir}
	return &jobs.FirstlightRedeem{Firstlight: client, DB: a.db, UserTokens: tokens, Settings: f.Check, Replica: a.runner.Replica}, nil
}

// trackCommand is one provider's `track` subcommands.
type trackCommand struct {
	name    string
	kind    store.TrackedKind
	usage   string
	add     func(ctx context.Context, e env, args []string) error
	remove  func(ctx context.Context, e env, args []string) error
	list    func(ctx context.Context, e env, a *app, w io.Writer, all bool) error
	parse   func(e env, cfg config.Config, r io.Reader) (tracked.TargetImport, error)
	hashKey bool // import needs SYNCER_HASH_KEY
}

func (c trackCommand) run(ctx context.Context, e env, args []string) error {
	if len(args) < 2 || args[0] != "track" {
		return usagef("%s", c.usage)
	}
	rest := args[2:]
	switch args[1] {
	case "add":
		return c.add(ctx, e, rest)
	case "remove":
		return c.remove(ctx, e, rest)
	case "list":
		return c.runList(ctx, e, rest)
	case "import":
		return c.runImport(ctx, e, rest)
	}
	return usagef("%s track %q: want add, remove, list or import\n%s", c.name, args[1], c.usage)
}

func (c trackCommand) runList(ctx context.Context, e env, args []string) error {
	fs, path := newFlags(c.name+" track list", e)
	all := fs.Bool("all", false, "include removed targets")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("%s track list takes no arguments, got %q", c.name, fs.Args())
	}
	a, err := open(ctx, e, *path, needs{checks: checkNoJobs})
	if err != nil {
		return err
	}
	defer a.close()
	tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
	if err := c.list(ctx, e, a, tw, *all); err != nil {
		return err
	}
	return tw.Flush()
}

// runImport validates every row before writing any: with a bad row nothing
// is imported (exit 2) unless --skip-invalid, which imports the good ones.
func (c trackCommand) runImport(ctx context.Context, e env, args []string) error {
	fs, path := newFlags(c.name+" track import", e)
	skip := fs.Bool("skip-invalid", false, "import the valid rows and skip the invalid ones")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("%s track import takes one CSV file\n%s", c.name, c.usage)
	}
	file := fs.Arg(0)
	cfg, err := load(e, *path, needs{checks: checkNoJobs, hashKey: c.hashKey})
	if err != nil {
		return err
	}
	f, err := os.Open(file)
	if err != nil {
		return usagef("%v", err)
	}
	imp, err := c.parse(e, cfg, f)
	f.Close()
	if err != nil {
		return usagef("%s: %v", file, err)
	}
	for _, b := range imp.Bad {
		fmt.Fprintf(e.stderr, "%s: %s\n", file, b)
	}
	if len(imp.Bad) > 0 && !*skip {
		return usagef("%s: %d of %d rows are invalid; nothing was imported (fix them, or pass --skip-invalid to import the %d valid rows)",
			file, len(imp.Bad), imp.Rows, len(imp.Targets))
	}
	a, err := openConfig(ctx, e, cfg, needs{})
	if err != nil {
		return err
	}
	defer a.close()
	if c.hashKey {
		if err := a.claimHashKey(ctx); err != nil {
			return err
		}
	}
	res, err := a.db.UpsertTargets(ctx, c.kind, imp.Targets, false)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: %d rows: %d added, %d updated, %d unchanged, %d invalid skipped\n",
		file, imp.Rows, res.Added, res.Updated, res.Unchanged, len(imp.Bad))
	return nil
}

// upserted says what adding one target did.
func upserted(r store.UpsertResult) string {
	switch {
	case r.Added > 0:
		return "added"
	case r.Updated > 0:
		return "updated"
	}
	return "already tracked, unchanged"
}

// flagSet reports whether the flag was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// notTracked turns store.ErrNotTracked into a usage error.
func notTracked(err error, what string) error {
	if errors.Is(err, store.ErrNotTracked) {
		return usagef("%s is not tracked (see `track list`)", what)
	}
	return err
}

var mawthoqTrack = trackCommand{
	name: "mawthoq", kind: store.TrackedMawthoq, hashKey: true,
	usage: "usage: syncer mawthoq track add --platform tiktok --account 1000000008 [--label TEXT]\n" +
		"       syncer mawthoq track remove --platform tiktok --account 1000000008\n" +
		"       syncer mawthoq track list [--all]\n" +
		"       syncer mawthoq track import FILE.csv [--skip-invalid]   (header platform,account,label)\n" +
		"       syncer mawthoq rehash   (recompute every account_hash under a new SYNCER_HASH_KEY)",
	add: mawthoqAdd, remove: mawthoqRemove, list: mawthoqList,
	parse: func(e env, cfg config.Config, r io.Reader) (tracked.TargetImport, error) {
		return tracked.ImportMawthoq(r, []byte(cfg.HashKey.Value()))
	},
}

func cmdMawthoq(ctx context.Context, e env, args []string) error {
	if len(args) > 0 && args[0] == "rehash" {
		return cmdMawthoqRehash(ctx, e, args[1:])
	}
	return mawthoqTrack.run(ctx, e, args)
}

// mawthoqFlags reads --platform and --account and validates them before
// anything else happens.
func mawthoqFlags(name string, e env, args []string, withLabel bool) (tracked.MawthoqTarget, bool, *string, error) {
	fs, path := newFlags(name, e)
	platform := fs.String("platform", "", "one of "+strings.Join(gmedia.Platforms, ", ")+" (x for twitter)")
	account := fs.String("account", "", "the operator's national ID or iqama number (10 digits)")
	var label *string
	if withLabel {
		label = fs.String("label", "", "free text shown in the bi views")
	}
	if err := parseFlags(fs, args); err != nil {
		return tracked.MawthoqTarget{}, false, nil, err
	}
	if fs.NArg() > 0 {
		return tracked.MawthoqTarget{}, false, nil, usagef("%s takes no arguments, got %q", name, fs.Args())
	}
	t := tracked.MawthoqTarget{Platform: *platform, Account: *account}
	if label != nil {
		t.Label = strings.TrimSpace(*label)
	}
	switch {
	case *platform == "":
		return t, false, nil, usagef("--platform is required: one of %s", strings.Join(gmedia.Platforms, ", "))
	case *account == "":
		return t, false, nil, usagef("--account is required: a national ID or iqama number")
	}
	t, err := t.Normalize()
	if err != nil {
		return t, false, nil, usagef("%v", err)
	}
	return t, withLabel && flagSet(fs, "label"), path, nil
}

func mawthoqAdd(ctx context.Context, e env, args []string) error {
	t, labelSet, path, err := mawthoqFlags("mawthoq track add", e, args, true)
	if err != nil {
		return err
	}
	a, err := open(ctx, e, *path, needs{checks: checkNoJobs, hashKey: true})
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.claimHashKey(ctx); err != nil {
		return err
	}
	res, err := a.db.UpsertTargets(ctx, store.TrackedMawthoq, []store.TargetInput{t.Input([]byte(a.cfg.HashKey.Value()))}, !labelSet)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s %s: %s\n", t.Platform, tracked.MaskAccount(t.Account), upserted(res))
	return nil
}

func mawthoqRemove(ctx context.Context, e env, args []string) error {
	t, _, path, err := mawthoqFlags("mawthoq track remove", e, args, false)
	if err != nil {
		return err
	}
	a, err := open(ctx, e, *path, needs{checks: checkNoJobs})
	if err != nil {
		return err
	}
	defer a.close()
	what := t.Platform + " " + tracked.MaskAccount(t.Account)
	if err := a.db.RemoveTarget(ctx, store.TrackedMawthoq, t.Key()); err != nil {
		return notTracked(err, what)
	}
	fmt.Fprintf(e.stdout, "%s: removed (its history is kept)\n", what)
	return nil
}

func mawthoqList(ctx context.Context, e env, a *app, w io.Writer, all bool) error {
	fmt.Fprintln(w, "ID\tPLATFORM\tACCOUNT\tLABEL\tOUTCOME\tSTATUS\tSINCE\tLAST CHECKED\tTRACKED")
	return a.db.ListTargets(ctx, store.TrackedMawthoq, all, func(r store.TargetRow) error {
		platform, account := tracked.MawthoqAccount(r.Params)
		_, err := fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%v\n", r.ID, platform, tracked.MaskAccount(account),
			orDash(r.Label), orDash(string(r.Outcome)), orDash(r.Status), timeOrDash(r.StatusSince), timeOrDash(r.LastCheckedAt), r.Active)
		return err
	})
}

var firstlightTrack = trackCommand{
	name: "firstlight", kind: store.TrackedFirstlight,
	usage: "usage: syncer firstlight track add --name NAME --device-id ID --content-id ID --content-type vod|live\n" +
		"           --catalog-type movie|... --delivery streaming|download --user-token-ref REF\n" +
		"       syncer firstlight track remove --name NAME\n" +
		"       syncer firstlight track list [--all]\n" +
		"       syncer firstlight track import FILE.csv [--skip-invalid]\n" +
		"           (header name,device_id,content_id,content_type,catalog_type,delivery,user_token_ref)",
	add: firstlightAdd, remove: firstlightRemove, list: firstlightList,
	parse: func(e env, cfg config.Config, r io.Reader) (tracked.TargetImport, error) {
		return tracked.ImportFirstlight(r, cliUserTokens(e, cfg))
	},
}

func cmdFirstlight(ctx context.Context, e env, args []string) error {
	return firstlightTrack.run(ctx, e, args)
}

// cliUserTokens resolves references as the job will: the environment the
// command runs in, then FIRSTLIGHT_USER_TOKEN_DIR.
func cliUserTokens(e env, cfg config.Config) tracked.UserTokens {
	return tracked.UserTokens{Getenv: func(k string) string { return lookupEnv(e.environ, k) }, Dir: cfg.Firstlight.UserTokenDir}
}

func firstlightAdd(ctx context.Context, e env, args []string) error {
	fs, path := newFlags("firstlight track add", e)
	var t tracked.FirstlightTarget
	fs.StringVar(&t.Name, "name", "", "a name for this check, unique")
	fs.StringVar(&t.DeviceID, "device-id", "", "the signed device ID token")
	fs.StringVar(&t.ContentID, "content-id", "", "the video content identifier")
	fs.StringVar(&t.ContentType, "content-type", "", strings.Join(firstlight.ContentTypes, " | "))
	fs.StringVar(&t.CatalogType, "catalog-type", "", strings.Join(firstlight.CatalogTypes, " | "))
	fs.StringVar(&t.Delivery, "delivery", "", strings.Join(firstlight.Deliveries, " | "))
	fs.StringVar(&t.UserTokenRef, "user-token-ref", "", "reference to the user token: env FIRSTLIGHT_USER_TOKEN_<REF> or file <FIRSTLIGHT_USER_TOKEN_DIR>/<REF>")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("firstlight track add takes no arguments, got %q", fs.Args())
	}
	if err := t.Validate(); err != nil {
		return usagef("%v", err)
	}
	cfg, err := load(e, *path, needs{checks: checkNoJobs})
	if err != nil {
		return err
	}
	if _, err := cliUserTokens(e, cfg).Resolve(t.UserTokenRef); err != nil {
		return usagef("--user-token-ref: %v", err)
	}
	a, err := openConfig(ctx, e, cfg, needs{})
	if err != nil {
		return err
	}
	defer a.close()
	res, err := a.db.UpsertTargets(ctx, store.TrackedFirstlight, []store.TargetInput{t.Input()}, true)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: %s\n", t.Name, upserted(res))
	return nil
}

func firstlightRemove(ctx context.Context, e env, args []string) error {
	fs, path := newFlags("firstlight track remove", e)
	name := fs.String("name", "", "the check's name")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 || *name == "" {
		return usagef("usage: syncer firstlight track remove --name NAME")
	}
	a, err := open(ctx, e, *path, needs{checks: checkNoJobs})
	if err != nil {
		return err
	}
	defer a.close()
	if err := a.db.RemoveTarget(ctx, store.TrackedFirstlight, *name); err != nil {
		return notTracked(err, fmt.Sprintf("check %q", *name))
	}
	fmt.Fprintf(e.stdout, "%s: removed (its history is kept)\n", *name)
	return nil
}

func firstlightList(ctx context.Context, e env, a *app, w io.Writer, all bool) error {
	fmt.Fprintln(w, "ID\tNAME\tDEVICE\tCONTENT\tTYPE\tCATALOG\tDELIVERY\tTOKEN REF\tOUTCOME\tCODE\tSINCE\tLAST CHECKED\tTRACKED")
	return a.db.ListTargets(ctx, store.TrackedFirstlight, all, func(r store.TargetRow) error {
		p := tracked.FirstlightParams(r.Params)
		_, err := fmt.Fprintf(w, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%v\n", r.ID, r.Key, truncate(p.DeviceID, 23),
			truncate(p.ContentID, 39), p.ContentType, p.CatalogType, p.Delivery, p.UserTokenRef,
			orDash(string(r.Outcome)), orDash(r.Code), timeOrDash(r.StatusSince), timeOrDash(r.LastCheckedAt), r.Active)
		return err
	})
}
