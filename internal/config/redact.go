package config

import (
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Redacted renders c as YAML in the config file's shape for `syncer config
// check`: every secret reads "[redacted]" ("" when unset), and URLs keep
// everything but their password, so an operator can see which database and
// endpoints were loaded without the output becoming a secret itself.
func (c Config) Redacted() string {
	root := mapping()
	root.HeadComment = "syncer configuration as loaded; secrets are redacted"
	for _, s := range settings(&c) {
		parent, name := root, s.key
		for {
			section, rest, ok := strings.Cut(name, ".")
			if !ok {
				break
			}
			parent, name = child(parent, section), rest
		}
		v, quoted := s.show()
		parent.Content = append(parent.Content, scalar(name, true), scalar(v, quoted))
	}

	agencies := &yaml.Node{Kind: yaml.SequenceNode}
	for _, a := range c.MGID.Agencies {
		agencies.Content = append(agencies.Content, mapping(
			scalar("name", true), scalar(a.Name, true),
			scalar("login", true), scalar(a.Login, true),
			scalar("password", true), scalar(a.Password.String(), true),
		))
	}
	mgid := child(root, "mgid")
	mgid.Content = append(mgid.Content, scalar("agencies", true), agencies)

	topup := child(root, "topup")
	def := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	if c.TopUp.Default != nil {
		def = ruleNode(*c.TopUp.Default)
	}
	clients := mapping()
	ids := make([]int64, 0, len(c.TopUp.Clients))
	for id := range c.TopUp.Clients {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		clients.Content = append(clients.Content, scalar(strconv.FormatInt(id, 10), true), ruleNode(c.TopUp.Clients[id]))
	}
	topup.Content = append(topup.Content, scalar("default", true), def, scalar("clients", true), clients)

	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := errors.Join(enc.Encode(root), enc.Close()); err != nil {
		// Only reachable through a bug here: the tree is built from strings.
		return "# cannot render configuration: " + err.Error() + "\n"
	}
	return b.String()
}

func mapping(content ...*yaml.Node) *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Content: content}
}

// scalar makes a plain scalar; quoted tags it !!str so the encoder quotes
// values such as "true", "10" or "" that would otherwise read as another type.
func scalar(v string, quoted bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.ScalarNode, Value: v}
	if quoted {
		n.Tag = "!!str"
	}
	return n
}

// child returns the mapping under key in m, adding it if absent.
func child(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	c := mapping()
	m.Content = append(m.Content, scalar(key, true), c)
	return c
}

func ruleNode(r TopUpRule) *yaml.Node {
	return mapping(
		scalar("min", true), scalar(r.Min.String(), true),
		scalar("target", true), scalar(r.Target.String(), true),
	)
}

// redactURL hides a URL's userinfo password. Unparseable text may hide a
// credential where the parser could not see it, so it is hidden whole.
func redactURL(raw string) string {
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil {
		return redactedMark
	}
	if _, ok := u.User.Password(); !ok {
		return raw
	}
	user := url.User(u.User.Username()).String()
	u.User = url.User(u.User.Username())
	// url.URL would percent-encode the brackets of the mark, so it is spliced in.
	return strings.Replace(u.String(), "//"+user+"@", "//"+user+":"+redactedMark+"@", 1)
}

// dsnPasswordRE finds password values in a keyword/value connection string
// (host=db user=app password='s3 cret' dbname=syncer).
var dsnPasswordRE = regexp.MustCompile(`(?i)\b((?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|\S*)`)

// redactDatabaseURL keeps user, host and database of DATABASE_URL visible and
// hides the password, whether in the URL's userinfo, in a password= query
// parameter, or in keyword/value form.
func redactDatabaseURL(raw string) string {
	if raw == "" {
		return ""
	}
	if !strings.Contains(raw, "://") {
		return dsnPasswordRE.ReplaceAllString(raw, "${1}"+redactedMark)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return redactedMark
	}
	if u.RawQuery != "" {
		parts := strings.Split(u.RawQuery, "&")
		for i, part := range parts {
			rawKey, _, _ := strings.Cut(part, "=")
			k, err := url.QueryUnescape(rawKey)
			if err != nil || strings.EqualFold(k, "password") || strings.EqualFold(k, "sslpassword") {
				parts[i] = rawKey + "=" + redactedMark
			}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	return redactURL(u.String())
}
