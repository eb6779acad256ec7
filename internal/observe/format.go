package observe

import (
	"fmt"
	"time"
)

// outcomeClass colours a tracked outcome: the check worked and said yes
// (good), worked and said no (neutral), or could not tell (bad).
func outcomeClass(o string) string {
	switch o {
	case "found", "entitled":
		return "good"
	case "not_found", "not_entitled", "invalid", "invalid_request", "unchecked":
		return "none"
	}
	return "bad" // provider_error, auth_failed and anything new
}

func statusClass(s string) string {
	switch s {
	case "succeeded":
		return "good"
	case "failed":
		return "bad"
	case "running":
		return "run"
	}
	return "warn" // cancelled
}

func (p *Page) when(now, t time.Time) string {
	return agoOrNever(now.Sub(t))
}

func agoOrNever(d time.Duration) string {
	if d <= 0 {
		return "just now"
	}
	return roundDur(d) + " ago"
}

// roundDur prints a duration the way a person reads one: 850ms, 12s, 4m, 3h 20m, 2d 4h.
func roundDur(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.0fs", d.Seconds())
	case d < time.Hour:
		return pair(int(d.Minutes()), "m", int(d.Seconds())%60, "s")
	case d < 48*time.Hour:
		return pair(int(d.Hours()), "h", int(d.Minutes())%60, "m")
	}
	return pair(int(d.Hours())/24, "d", int(d.Hours())%24, "h")
}

// pair prints "3h 20m", or "3h" when the second part is zero.
func pair(a int, au string, b int, bu string) string {
	if b == 0 {
		return fmt.Sprintf("%d%s", a, au)
	}
	return fmt.Sprintf("%d%s %d%s", a, au, b, bu)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func cutText(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
