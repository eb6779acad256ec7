package jobs

import (
	"time"

	"syncer/internal/store"
)

// RunObserver is told how every recorded run ended: the metrics. It is
// called after the run's row is written, once per run.
type RunObserver interface {
	RunFinished(job, trigger string, f store.RunFinish, took time.Duration)
}

// observe reports a finished run to r.Observer, if any.
func (r *Runner) observe(run *Run, f store.RunFinish) {
	if r.Observer == nil {
		return
	}
	var took time.Duration
	if !run.started.IsZero() {
		took = r.now().Sub(run.started)
	}
	r.Observer.RunFinished(run.Job, run.Trigger, f, took)
}
