package transfer_test

import "syncer/internal/transfer/transfertest"

// The environment the tests share with the top-up job's (transfertest).
var (
	t0         = transfertest.T0
	testLogger = transfertest.Logger
)
