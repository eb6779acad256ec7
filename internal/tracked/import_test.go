package tracked_test

import (
	"errors"
	"strings"
	"testing"

	"syncer/internal/tracked"
)

var hashKey = []byte("tracked-test-hash-key")

// A file that cannot be the import CSV is refused whole (ErrBadFile); a
// file with bad rows keeps the good ones and says why each bad one was
// refused, by line, without the account number.
func TestImportMawthoq(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, csv string
		badFile   string   // ErrBadFile with this text, or ""
		targets   []string // keys imported
		bad       []string // "line N: reason" prefixes
	}{
		{name: "empty", csv: "", badFile: "the file is empty"},
		{name: "unknown column", csv: "platform,account,colour\n", badFile: `unknown column "colour"`},
		{name: "missing column", csv: "platform,label\n", badFile: `no "account" column`},
		{name: "column twice", csv: "platform,account,account\n", badFile: "appears twice"},
		{name: "bom, any order, any case", csv: "\uFEFFAccount, Platform\n1000000008,TikTok\n", targets: []string{"tiktok:1000000008"}},
		{name: "bad rows kept apart", csv: "platform,account,label\n" +
			"tiktok,1000000008,fine\n" +
			"myspace,1000000008,\n" +
			"tiktok,12345,\n" +
			"tiktok,1000000008,again\n" +
			"tiktok\n",
			targets: []string{"tiktok:1000000008"},
			bad:     []string{"line 3: ", "line 4: ", "line 5: the same target as line 2", "line 6: 1 fields, want 3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			imp, err := tracked.ImportMawthoq(strings.NewReader(tc.csv), hashKey)
			if tc.badFile != "" {
				if !errors.Is(err, tracked.ErrBadFile) || !strings.Contains(err.Error(), tc.badFile) {
					t.Fatalf("err = %v, want ErrBadFile saying %q", err, tc.badFile)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var keys []string
			for _, x := range imp.Targets {
				keys = append(keys, x.Key)
				if x.SubjectHash != tracked.AccountHash(hashKey, "1000000008") {
					t.Errorf("target %s: hash %q", x.Key, x.SubjectHash)
				}
			}
			if strings.Join(keys, " ") != strings.Join(tc.targets, " ") {
				t.Errorf("targets %q, want %q", keys, tc.targets)
			}
			if len(imp.Bad) != len(tc.bad) {
				t.Fatalf("bad rows %v, want %d", imp.Bad, len(tc.bad))
			}
			for i, b := range imp.Bad {
				if !strings.HasPrefix(b.String(), tc.bad[i]) {
					t.Errorf("bad row %d: %q, want %q…", i, b, tc.bad[i])
				}
				if strings.Contains(b.String(), "1000000008") || strings.Contains(b.String(), "12345") {
					t.Errorf("bad row %d shows the account: %q", i, b)
				}
			}
		})
	}
}

func TestMaskAccount(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{"1000000008": "******0008", "1234": "****", "": ""} {
		if got := tracked.MaskAccount(in); got != want {
			t.Errorf("MaskAccount(%q) = %q, want %q", in, got, want)
		}
	}
}
