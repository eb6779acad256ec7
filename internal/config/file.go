package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"syncer/internal/money"
)

// The file* types mirror Config in the YAML file's shape. They exist so that
// yaml.v3's KnownFields rejects an unknown key with its line; every scalar is
// kept as its yaml.Node so ${VAR} references are expanded after decoding (an
// expanded value can then never be mistaken for YAML syntax) and so amounts
// are parsed from their literal text, never through a float.
type fileConfig struct {
	DatabaseURL   yaml.Node      `yaml:"database_url"`
	AutoMigrate   yaml.Node      `yaml:"auto_migrate"`
	ShutdownGrace yaml.Node      `yaml:"shutdown_grace"`
	LogLevel      yaml.Node      `yaml:"log_level"`
	HTTPAddr      yaml.Node      `yaml:"http_addr"`
	LogFormat     yaml.Node      `yaml:"log_format"`
	HashKey       yaml.Node      `yaml:"hash_key"`
	Jobs          fileJobs       `yaml:"jobs"`
	Backfill      fileBackfill   `yaml:"backfill"`
	Retention     fileRetention  `yaml:"retention"`
	MGID          fileMGID       `yaml:"mgid"`
	Gmedia        fileGmedia     `yaml:"gmedia"`
	Firstlight    fileFirstlight `yaml:"firstlight"`
	TopUp         fileTopUp      `yaml:"topup"`
	Transfer      fileTransfer   `yaml:"transfer"`
}

// fileJobs is the jobs section keyed by job name. Its keys come from the
// Registry, so a job is spelt once; a name that is not registered is an
// unknown key like any other, with its line.
type fileJobs map[string]fileJob

// jobsSection and jobSection are how errors name the jobs section and one
// job's block.
var (
	jobsSection = "jobs (known jobs: " + strings.Join(JobNames, ", ") + ")"
	jobSection  = "a job"
)

// UnmarshalYAML decodes the jobs mapping itself: yaml.v3's KnownFields does
// not reach a value decoded through a map or node.Decode, so unknown job names
// and unknown keys in a job are checked here against the registry and
// fileJob's own keys.
func (j *fileJobs) UnmarshalYAML(n *yaml.Node) error {
	if n.ShortTag() == "!!null" {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: jobs: want a mapping of job names", n.Line)
	}
	out := make(fileJobs, len(n.Content)/2)
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !slices.Contains(JobNames, k.Value) {
			errs = append(errs, fmt.Errorf("line %d: unknown key %q in %s", k.Line, k.Value, jobsSection))
			continue
		}
		if _, dup := out[k.Value]; dup {
			errs = append(errs, fmt.Errorf("line %d: jobs: %q is given twice", k.Line, k.Value))
			continue
		}
		fj, err := decodeJob(v)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[k.Value] = fj
	}
	*j = out
	return errors.Join(errs...)
}

// fileJobKeys are the keys a job's block may hold: fileJob's yaml tags.
var fileJobKeys = func() []string {
	t := reflect.TypeFor[fileJob]()
	out := make([]string, t.NumField())
	for i := range out {
		out[i] = t.Field(i).Tag.Get("yaml")
	}
	return out
}()

func decodeJob(n *yaml.Node) (fileJob, error) {
	var fj fileJob
	if n.ShortTag() == "!!null" {
		return fj, nil
	}
	if n.Kind != yaml.MappingNode {
		return fj, fmt.Errorf("line %d: %s: want a mapping of %s", n.Line, jobSection, strings.Join(fileJobKeys, ", "))
	}
	var errs []error
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !slices.Contains(fileJobKeys, k.Value) {
			errs = append(errs, fmt.Errorf("line %d: unknown key %q in %s", k.Line, k.Value, jobSection))
		}
	}
	if len(errs) > 0 {
		return fj, errors.Join(errs...)
	}
	return fj, n.Decode(&fj)
}

type fileJob struct {
	Enabled  yaml.Node `yaml:"enabled"`
	Schedule yaml.Node `yaml:"schedule"`
	Timeout  yaml.Node `yaml:"timeout"`
}

type fileBackfill struct {
	Concurrency yaml.Node `yaml:"concurrency"`
}

type fileTransfer struct {
	MinReplicas    yaml.Node `yaml:"min_replicas"`
	ReplicaTimeout yaml.Node `yaml:"replica_timeout"`
}

type fileRetention struct {
	DetailDays yaml.Node `yaml:"detail_days"`
}

type fileMGID struct {
	BaseURL        yaml.Node    `yaml:"base_url"`
	Timezone       yaml.Node    `yaml:"timezone"`
	LookbackDays   yaml.Node    `yaml:"lookback_days"`
	RequestTimeout yaml.Node    `yaml:"request_timeout"`
	Agencies       []fileAgency `yaml:"agencies"`

	AgencyConcurrency yaml.Node `yaml:"agency_concurrency"`
}

type fileAgency struct {
	Name     yaml.Node `yaml:"name"`
	Login    yaml.Node `yaml:"login"`
	Password yaml.Node `yaml:"password"`
}

type fileGmedia struct {
	TokenURL       yaml.Node `yaml:"token_url"`
	CheckURL       yaml.Node `yaml:"check_url"`
	CheckMethod    yaml.Node `yaml:"check_method"`
	ClientIDKey    yaml.Node `yaml:"client_id_key"`
	ClientID       yaml.Node `yaml:"client_id"`
	ClientSecret   yaml.Node `yaml:"client_secret"`
	RequestTimeout yaml.Node `yaml:"request_timeout"`
	Check          fileCheck `yaml:",inline"`
}

type fileFirstlight struct {
	URL            yaml.Node `yaml:"url"`
	IAMToken       yaml.Node `yaml:"iam_token"`
	TokenURL       yaml.Node `yaml:"token_url"`
	ClientID       yaml.Node `yaml:"client_id"`
	ClientSecret   yaml.Node `yaml:"client_secret"`
	RequestTimeout yaml.Node `yaml:"request_timeout"`
	UserTokenDir   yaml.Node `yaml:"user_token_dir"`
	Check          fileCheck `yaml:",inline"`
}

type fileCheck struct {
	RecheckAfter yaml.Node `yaml:"recheck_after"`
	Concurrency  yaml.Node `yaml:"concurrency"`
	RateLimit    yaml.Node `yaml:"rate_limit"`
	BatchSize    yaml.Node `yaml:"batch_size"`
	Lease        yaml.Node `yaml:"lease"`
}

type fileTopUp struct {
	DryRun          yaml.Node           `yaml:"dry_run"`
	AccountType     yaml.Node           `yaml:"account_type"`
	MaxPerTransfer  yaml.Node           `yaml:"max_per_transfer"`
	MaxPerClientDay yaml.Node           `yaml:"max_per_client_day"`
	MaxPerAgencyDay yaml.Node           `yaml:"max_per_agency_day"`
	Default         *fileRule           `yaml:"default"`
	Clients         map[string]fileRule `yaml:"clients"` // keyed by MGID client id
}

type fileRule struct {
	Min    yaml.Node `yaml:"min"`
	Target yaml.Node `yaml:"target"`
}

// sectionNames turns yaml.v3's Go type names into the section an operator sees.
var sectionNames = map[reflect.Type]string{
	reflect.TypeFor[fileConfig]():     "the top level",
	reflect.TypeFor[fileBackfill]():   "backfill",
	reflect.TypeFor[fileMGID]():       "mgid",
	reflect.TypeFor[fileAgency]():     "mgid.agencies",
	reflect.TypeFor[fileGmedia]():     "gmedia",
	reflect.TypeFor[fileFirstlight](): "firstlight",
	reflect.TypeFor[fileTopUp]():      "topup",
	reflect.TypeFor[fileRule]():       "a top-up rule",
	reflect.TypeFor[fileTransfer]():   "transfer",
}

var unknownFieldRE = regexp.MustCompile(`^line (\d+): field (.+) not found in type (\S+)$`)

// readFile decodes the YAML file at path.
func readFile(path string) (*fileConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f fileConfig
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, tidyYAMLError(err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("holds more than one YAML document")
	}
	return &f, nil
}

// tidyYAMLError rewrites yaml.v3's "field x not found in type config.fileMGID"
// as "unknown key "x" in mgid"; other errors pass through.
func tidyYAMLError(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return err
	}
	names := make(map[string]string, len(sectionNames))
	for t, name := range sectionNames {
		names[t.String()] = name
	}
	errs := make([]error, len(te.Errors))
	for i, m := range te.Errors {
		errs[i] = errors.New(m)
		if g := unknownFieldRE.FindStringSubmatch(m); g != nil {
			section, ok := names[g[3]]
			if !ok {
				section = g[3]
			}
			errs[i] = fmt.Errorf("line %s: unknown key %q in %s", g[1], g[2], section)
		}
	}
	return errors.Join(errs...)
}

// fileLeaves maps every scalar key path of f ("mgid.lookback_days") to its
// node. Keys absent from the file map to a zero node. Lists and maps are left
// to the caller.
func fileLeaves(f *fileConfig) map[string]yaml.Node {
	out := make(map[string]yaml.Node)
	var walk func(v reflect.Value, prefix string)
	walk = func(v reflect.Value, prefix string) {
		for i := range v.NumField() {
			field, fv := v.Type().Field(i), v.Field(i)
			name, opts, _ := strings.Cut(field.Tag.Get("yaml"), ",")
			key := prefix + name
			if opts == "inline" {
				key = strings.TrimSuffix(prefix, ".")
			}
			switch {
			case field.Type == reflect.TypeFor[fileJobs]():
				// Every registered job has its keys, given or not.
				jobs := fv.Interface().(fileJobs)
				for _, name := range JobNames {
					walk(reflect.ValueOf(jobs[name]), key+"."+name+".")
				}
			case field.Type == reflect.TypeFor[yaml.Node]():
				out[key] = fv.Interface().(yaml.Node)
			case field.Type.Kind() == reflect.Struct:
				walk(fv, key+".")
			}
		}
	}
	walk(reflect.ValueOf(f).Elem(), "")
	return out
}

// expander resolves ${VAR} references in file values and remembers which
// variables the file used.
type expander struct {
	env  *environment
	used map[string]bool
}

var varNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// scalar returns the text of a scalar node with references expanded; ok is
// false when the key is absent. A YAML null reads as "".
func (x *expander) scalar(n yaml.Node, key string) (value string, ok bool, err error) {
	switch n.Kind {
	case 0:
		return "", false, nil
	case yaml.ScalarNode:
	default:
		return "", false, fmt.Errorf("line %d: %s: want a single value, not a list or mapping", n.Line, key)
	}
	if n.ShortTag() == "!!null" {
		return "", true, nil
	}
	v, err := x.expand(n.Value)
	if err != nil {
		return "", false, fmt.Errorf("line %d: %s: %w", n.Line, key, err)
	}
	return v, true, nil
}

// expand replaces ${VAR} with the variable's value (or VAR_FILE's contents)
// and "$${" with a literal "${". Any other "$" is kept, so passwords with a
// dollar sign need no escaping. Errors name the variable, never a value.
func (x *expander) expand(s string) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i]) // "$${" -> "${": drop one '$'
			b.WriteString("{")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", errors.New(`unterminated "${" (write "$${" for a literal "${")`)
		}
		name := s[i+2 : i+end]
		if !varNameRE.MatchString(name) {
			return "", fmt.Errorf("${%s} is not a variable reference", strconv.Quote(name))
		}
		v, set, err := x.env.lookup(name, true)
		if err != nil {
			return "", err
		}
		if !set {
			return "", fmt.Errorf("${%s}: environment variable %s is not set", name, name)
		}
		x.used[name] = true
		b.WriteString(v)
		s = s[i+end+1:]
	}
}

// applyFile sets c from the file's values.
func applyFile(c *Config, f *fileConfig, x *expander) error {
	var errs []error
	leaves := fileLeaves(f)
	for _, s := range settings(c) {
		v, ok, err := x.scalar(leaves[s.key], s.key)
		if err == nil && ok {
			if err = s.parse(v); err != nil {
				err = fmt.Errorf("line %d: %s: %w", leaves[s.key].Line, s.key, err)
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}

	if f.MGID.Agencies != nil {
		c.MGID.Agencies = make([]MGIDAgency, 0, len(f.MGID.Agencies))
	}
	for i, a := range f.MGID.Agencies {
		key := fmt.Sprintf("mgid.agencies[%d].", i)
		name, _, err1 := x.scalar(a.Name, key+"name")
		login, _, err2 := x.scalar(a.Login, key+"login")
		password, _, err3 := x.scalar(a.Password, key+"password")
		errs = append(errs, err1, err2, err3)
		c.MGID.Agencies = append(c.MGID.Agencies, MGIDAgency{Name: name, Login: login, Password: Secret(password)})
	}

	if f.TopUp.Default != nil {
		r, err := x.rule(*f.TopUp.Default, "topup.default")
		errs = append(errs, err)
		c.TopUp.Default = &r
	}
	ids := make([]string, 0, len(f.TopUp.Clients))
	for id := range f.TopUp.Clients {
		ids = append(ids, id)
	}
	slices.Sort(ids) // stable error order
	for _, id := range ids {
		key := "topup.clients." + id
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || n <= 0 {
			errs = append(errs, fmt.Errorf("%s: %q is not an MGID client id", key, id))
			continue
		}
		r, err := x.rule(f.TopUp.Clients[id], key)
		errs = append(errs, err)
		if c.TopUp.Clients == nil {
			c.TopUp.Clients = make(map[int64]TopUpRule)
		}
		c.TopUp.Clients[n] = r
	}
	return errors.Join(errs...)
}

// rule reads a top-up rule; both amounts are required, since a missing min
// silently meaning 0 would change when money moves.
func (x *expander) rule(r fileRule, key string) (TopUpRule, error) {
	var out TopUpRule
	var errs []error
	for _, p := range []struct {
		name string
		n    yaml.Node
		dst  *money.Amount
	}{{"min", r.Min, &out.Min}, {"target", r.Target, &out.Target}} {
		v, ok, err := x.scalar(p.n, key+"."+p.name)
		switch {
		case err != nil:
			errs = append(errs, err)
		case !ok:
			errs = append(errs, fmt.Errorf("%s.%s: required", key, p.name))
		default:
			a, err := parseAmount(v, false)
			if err != nil {
				errs = append(errs, fmt.Errorf("line %d: %s.%s: %w", p.n.Line, key, p.name, err))
			}
			*p.dst = a
		}
	}
	return out, errors.Join(errs...)
}
