package transfer_test

import "syncer/internal/transfer/transfertest"

// t0 is where the shared environment's clock starts (transfertest).
var t0 = transfertest.T0
