package config

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// EnvConfigFile is the variable main may read for the YAML file's path. It is
// listed here so that the SYNCER_ typo check knows it.
const EnvConfigFile = "SYNCER_CONFIG"

// Load builds the configuration: Defaults, then the YAML file at path (skipped
// when path is ""), then environment variables read through getenv. An empty
// variable counts as unset, and a nil getenv is an empty environment. Load checks syntax only; call Validate next.
//
// In the file, ${VAR} is replaced by the variable's value (or by the contents
// of the file named by VAR_FILE); a reference to an unset variable is an
// error, and "$${" writes a literal "${".
//
// Secrets (DATABASE_URL, SYNCER_HASH_KEY, MGID_PASSWORD, GMEDIA_CLIENT_SECRET,
// FIRSTLIGHT_IAM_TOKEN, FIRSTLIGHT_CLIENT_SECRET) may come from the file named
// by <VAR>_FILE instead; its trailing newline is dropped, and setting both is
// an error.
//
// MGID_LOGIN, when set, replaces the file's agency list with that one agency
// (password from MGID_PASSWORD): replacing rather than appending keeps "which
// agencies does this deployment poll" answerable from one place. MGID_PASSWORD
// without MGID_LOGIN is an error unless the file references ${MGID_PASSWORD}.
//
// Load cannot see which variables exist, only their values, so it cannot catch
// a misspelt JOB_ or SYNCER_ variable; LoadEnviron can.
func Load(path string, getenv func(string) string) (Config, error) {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	c := Defaults()
	env := &environment{getenv: getenv}
	x := &expander{env: env, used: make(map[string]bool)}
	if path != "" {
		f, err := readFile(path)
		if err == nil {
			err = applyFile(&c, f, x)
		}
		if err != nil {
			return Config{}, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	if err := applyEnv(&c, env, x.used); err != nil {
		return Config{}, fmt.Errorf("environment: %w", err)
	}
	for i, a := range c.MGID.Agencies {
		if a.Name == "" {
			c.MGID.Agencies[i].Name = a.Login
		}
	}
	return c, nil
}

// LoadEnviron is Load over an environment in os.Environ form ("KEY=value"),
// which it first checks for variables that start with JOB_ or SYNCER_ but
// name no setting: a misspelt JOB_MGID_SPEND_SCHEDUEL would otherwise be
// silently ignored. main calls LoadEnviron(path, os.Environ()).
func LoadEnviron(path string, environ []string) (Config, error) {
	if err := checkEnviron(environ); err != nil {
		return Config{}, fmt.Errorf("environment: %w", err)
	}
	vars := make(map[string]string, len(environ))
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		vars[k] = v
	}
	return Load(path, func(k string) string { return vars[k] })
}

// checkedPrefixes are the prefixes that belong to syncer alone. MGID_,
// GMEDIA_ and FIRSTLIGHT_ are not checked: FIRSTLIGHT_USER_TOKEN_<REF> names
// are open-ended and the others may be shared with other tools.
var checkedPrefixes = []string{"JOB_", "SYNCER_"}

func checkEnviron(environ []string) error {
	known := map[string]bool{EnvConfigFile: true}
	var c Config
	for _, s := range settings(&c) {
		known[s.env] = true
		if s.secret {
			known[s.env+"_FILE"] = true
		}
	}
	var errs []error
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		for _, p := range checkedPrefixes {
			if strings.HasPrefix(k, p) && !known[k] {
				errs = append(errs, fmt.Errorf("%s: unknown variable (%s)", k, unknownHint(k)))
			}
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

func unknownHint(k string) string {
	if !strings.HasPrefix(k, "JOB_") {
		return "SYNCER_ variables are SYNCER_AUTO_MIGRATE, SYNCER_SHUTDOWN_GRACE, SYNCER_LOG_LEVEL, SYNCER_LOG_FORMAT, SYNCER_HASH_KEY, SYNCER_TRANSFER_MIN_REPLICAS, SYNCER_TRANSFER_REPLICA_TIMEOUT, " + EnvConfigFile
	}
	for _, name := range JobNames {
		if strings.HasPrefix(k, JobEnvPrefix(name)) {
			return "a job takes _ENABLED, _SCHEDULE and _TIMEOUT"
		}
	}
	return "known jobs: " + strings.Join(JobNames, ", ")
}

// environment reads variables, including the VAR_FILE form of secrets.
type environment struct {
	getenv func(string) string
}

// lookup returns the variable's value; with fromFile, VAR_FILE names a file
// holding it. set is false when neither is set.
func (e *environment) lookup(name string, fromFile bool) (value string, set bool, err error) {
	v := e.getenv(name)
	if !fromFile {
		return v, v != "", nil
	}
	path := e.getenv(name + "_FILE")
	switch {
	case path == "":
		return v, v != "", nil
	case v != "":
		return "", false, fmt.Errorf("%s and %s_FILE are both set; set one", name, name)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		// The path is not secret; the contents never reach the message.
		return "", false, fmt.Errorf("%s_FILE: %w", name, err)
	}
	return strings.TrimRight(string(data), "\r\n"), true, nil
}

func applyEnv(c *Config, env *environment, fileUsed map[string]bool) error {
	var errs []error
	for _, s := range settings(c) {
		if s.env == "" {
			continue
		}
		v, set, err := env.lookup(s.env, s.secret)
		if err == nil && set {
			if err = s.parse(v); err != nil {
				err = fmt.Errorf("%s: %w", s.env, err)
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}

	login := env.getenv("MGID_LOGIN")
	password, havePassword, err := env.lookup("MGID_PASSWORD", true)
	switch {
	case err != nil:
		errs = append(errs, err)
	case login != "":
		c.MGID.Agencies = []MGIDAgency{{Login: login, Password: Secret(password)}}
	case havePassword && !fileUsed["MGID_PASSWORD"]:
		errs = append(errs, errors.New("MGID_PASSWORD is set but MGID_LOGIN is not; set both, or list agencies in the config file"))
	}
	return errors.Join(errs...)
}
