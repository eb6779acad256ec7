package jobs

import "time"

// LongestGap is the longest time between two consecutive ticks of the
// schedule spec over the year from now: "0 9 * * 1-5" waits 3 days from
// Friday to Monday, and a source it feeds is not stale over a weekend. It
// looks at no more than 20000 ticks, a fortnight of a once-a-minute job.
func LongestGap(spec string, now time.Time) (time.Duration, error) {
	sched, err := ParseSchedule(spec)
	if err != nil {
		return 0, err
	}
	end := now.AddDate(1, 0, 0)
	var longest time.Duration
	prev := sched.Next(now)
	for i := 0; i < 20000 && !prev.IsZero() && prev.Before(end); i++ {
		next := sched.Next(prev)
		if next.IsZero() {
			break
		}
		longest = max(longest, next.Sub(prev))
		prev = next
	}
	return longest, nil
}
