package store

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// DatabaseError is a step that failed because of the database rather than
// because of the data or of a provider: a connection that could not be
// made or was cut, a server that stopped answering within the step's
// deadline, a lock that was lost. Op names the step.
type DatabaseError struct {
	Op  string
	Err error
}

func (e *DatabaseError) Error() string { return "database: " + e.Op + ": " + e.Err.Error() }
func (e *DatabaseError) Unwrap() error { return e.Err }

// IsDatabaseError reports whether err is the database's fault, something an
// operator fixes in Postgres or the network to it: a DatabaseError, a
// connection-level pgconn error (pgconn's own errors all say whether they
// are safe to retry; PgError, the server's answer, does not), a failed
// connect, or a server error of the classes that mean the server, not the
// statement, is the problem (08 connection, 53 resources, 57 operator
// intervention such as pg_terminate_backend, 58 system, 40 serialization
// or deadlock). A constraint violation or a syntax error is not: that is
// the data or our bug.
func IsDatabaseError(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var de *DatabaseError
	if errors.As(err, &de) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		for _, class := range []string{"08", "53", "57", "58", "40"} {
			if strings.HasPrefix(pe.Code, class) {
				return true
			}
		}
		return false
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var conn interface{ SafeToRetry() bool }
	if errors.As(err, &conn) || pgconn.Timeout(err) {
		return true
	}
	// pgconn passes some socket errors through bare (a COPY cut midway).
	// net/http never does: its errors come wrapped in *url.Error (and
	// provider clients wrap those in their own error, which callers check
	// first), so a bare *net.OpError is the database connection's.
	var op *net.OpError
	var ue *url.Error
	return errors.As(err, &op) && !errors.As(err, &ue)
}
