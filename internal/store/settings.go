package store

import (
	"context"
	"fmt"
)

// SettingMGIDTimezone is MGID_TIMEZONE as SQL sees it (syncer.mgid_timezone()):
// the daily balance view counts its days in that zone.
const SettingMGIDTimezone = "mgid_timezone"

// SetSetting publishes a configuration value for SQL that needs it. It
// writes only when the value changed, so calling it on every run is cheap.
func (db *DB) SetSetting(ctx context.Context, name, value string) error {
	_, err := db.exec(ctx, `
		INSERT INTO syncer.settings (key, value, updated_at) VALUES ($1, $2, now())
		ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
		WHERE syncer.settings.value IS DISTINCT FROM excluded.value`, name, value)
	if err != nil {
		return fmt.Errorf("setting %s: %w", name, err)
	}
	return nil
}
