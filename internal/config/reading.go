package config

// ValidateForReading validates c for a command that only reads the database
// and the configured schedules (jobs, gaps, check): what a job needs to
// reach its provider (credentials, URLs, the hash key) is not required, so a
// monitoring host or a cron entry needs nothing but DATABASE_URL, yet each
// job keeps its enabled flag and its schedule is still checked.
func (c *Config) ValidateForReading() error {
	enabled := map[string]bool{}
	for n, j := range c.Jobs {
		enabled[n] = j.Enabled
		j.Enabled = false
		c.Jobs[n] = j
	}
	err := c.Validate()
	for n, j := range c.Jobs {
		j.Enabled = enabled[n]
		c.Jobs[n] = j
	}
	// Retention off turns its job off whatever the flag says (Validate).
	var p problems
	c.validateRetention(&p)
	return err
}
