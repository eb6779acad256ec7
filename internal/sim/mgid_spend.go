package sim

import (
	"bufio"
	"net/http"
	"strconv"
	"strings"
	"time"

	"syncer/internal/money"
)

const (
	secondsPerDay = 86400
	// maxSpendDays bounds one report so a typo cannot make the sim sum a century.
	maxSpendDays = 3660
	// restateBucket is how often a restated day's value moves.
	restateBucketHours = 6
)

// spendProfile is what a client's daily spend is derived from: a hash, and a
// mean daily spend in 1/10000 units (5.00 to 500.00). A fifth of clients
// never spend.
func (ag *agencyState) spendProfile(i int64) (h uint64, mean int64, active bool) {
	h = hash2(ag.hash^saltSpend, uint64(i))
	if h%5 == 0 {
		return h, 0, false
	}
	return h, 50_000 + int64(mix(h)%4_950_000), true
}

// spendAt is the spend reported for a day (days since 1970-01-01 UTC) when
// asked at nowSec (Unix seconds), in 1/10000 units. Today's value grows by the
// hour; for RestateWindow after the day ends it moves by up to ±3% every
// restateBucketHours; then it is final. Future days spend nothing.
func spendAt(h uint64, mean, day, nowSec int64) int64 {
	start := day * secondsPerDay
	if nowSec < start {
		return 0
	}
	hd := hash2(h, uint64(day))
	if hd%10 < 3 { // an idle day
		return 0
	}
	final := 1 + int64(mix(hd)%uint64(2*mean))
	age := (nowSec - start) / 3600
	const window = int64(RestateWindow / time.Hour)
	switch {
	case age < 24:
		return final * (age + 1) / 24
	case age < 24+window:
		adj := int64(hash2(hd, uint64((age-24)/restateBucketHours))%7) - 3
		return final + final*adj/100
	}
	return final
}

func parseDay(v string) (int64, bool) {
	if len(v) != len(time.DateOnly) {
		return 0, false
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return 0, false
	}
	return floorDiv(t.Unix(), secondsPerDay), true
}

func mgidBadRequest(w http.ResponseWriter, msg string) {
	writeJSON(w, http.StatusBadRequest, map[string][]string{"errors": {msg}})
}

// mgidSpend: GET /v1/agencies/{accountId}/clients-spent-reports, streamed.
// Without clientsIds, clients that never spend are left out; clients asked
// for by id are always reported.
func (s *Server) mgidSpend(w http.ResponseWriter, r *http.Request) {
	ag, ok := s.mgidAuth(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	startText, endText := q.Get("dateStart"), q.Get("dateEnd")
	start, ok := parseDay(startText)
	if !ok {
		mgidBadRequest(w, "dateStart should be in the format of YYYY-MM-DD")
		return
	}
	end, ok := parseDay(endText)
	if !ok {
		mgidBadRequest(w, "dateEnd should be in the format of YYYY-MM-DD")
		return
	}
	if end < start {
		mgidBadRequest(w, "dateEnd should not be earlier than dateStart")
		return
	}
	if end-start >= maxSpendDays {
		mgidBadRequest(w, "The period should not exceed 10 years")
		return
	}
	var only []int64 // client indexes asked for, in order; nil = all
	if raw := q.Get("clientsIds"); raw != "" {
		seen := make(map[int64]bool)
		for part := range strings.SplitSeq(raw, ",") {
			id, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64)
			if err != nil {
				mgidBadRequest(w, "clientsIds should be separated by commas")
				return
			}
			i, ok := ag.clientIndex(id)
			if !ok {
				writeRaw(w, http.StatusBadRequest, errInvalidClient)
				return
			}
			if !seen[i] {
				seen[i] = true
				only = append(only, i)
			}
		}
	}
	nowSec := s.now().Unix()

	w.Header().Set("Content-Type", contentTypeJSON)
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, streamBuffer)
	buf := make([]byte, 0, 256)
	buf = append(buf, `{"dateStart":`...)
	buf = strconv.AppendQuote(buf, startText)
	buf = append(buf, `,"dateEnd":`...)
	buf = strconv.AppendQuote(buf, endText)
	buf = append(buf, `,"clients-spent-reports":[`...)
	first := true
	mode, firstIdx := modeOf(r), int64(-1)
	report := func(i int64) bool {
		h, mean, active := ag.spendProfile(i)
		if !active && only == nil {
			return true
		}
		var sum int64
		if active {
			for d := start; d <= end; d++ {
				sum += spendAt(h, mean, d, nowSec)
			}
		}
		if !first {
			buf = append(buf, ',')
		}
		spoil := first && (mode == FaultNaN || mode == FaultOverflow)
		if first {
			firstIdx = i
		}
		first = false
		asString, idAsString := ag.clientFormat(i)
		buf = append(buf, `{"id":`...)
		if idAsString {
			buf = append(buf, '"')
		}
		buf = strconv.AppendInt(buf, ag.clientID(i), 10)
		if idAsString {
			buf = append(buf, '"')
		}
		buf = append(buf, `,"spent":`...)
		if spoil {
			buf = append(buf, badAmount(mode)...)
		} else {
			buf = appendUnits4(buf, sum, asString)
		}
		buf = append(buf, '}')
		_, err := bw.Write(buf)
		buf = buf[:0]
		return err == nil
	}
	if only != nil {
		for _, i := range only {
			if !report(i) {
				return
			}
		}
	} else {
		for i := int64(0); i < ag.clients; i++ {
			if !report(i) {
				return
			}
		}
	}
	if mode == FaultDupIDs && firstIdx >= 0 && !report(firstIdx) {
		return
	}
	buf = append(buf, "]}"...)
	_, _ = bw.Write(buf)
	_ = bw.Flush()
}

// SpendAt is the spend the simulator reports for one client and day (UTC
// midnight of the day) when asked at now, for tests in other packages that
// check what was stored. ok is false for an unknown client.
func (s *Server) SpendAt(clientID int64, day, now time.Time) (money.Amount, bool) {
	ag, i, ok := s.findClient(clientID)
	if !ok {
		return money.Amount{}, false
	}
	h, mean, active := ag.spendProfile(i)
	if !active {
		return money.Amount{}, true
	}
	return money.FromUnits(spendAt(h, mean, floorDiv(day.Unix(), secondsPerDay), now.Unix())), true
}
