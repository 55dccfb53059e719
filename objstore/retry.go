package objstore

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/minio/minio-go/v7"
)

// IsTransient reports whether err may go away when the request is sent
// again: a 5xx or 429 response, a throttling code, a refused or reset
// connection, a timeout or a body cut short.
func IsTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var marked transientError
	if errors.As(err, &marked) {
		return true
	}
	var resp minio.ErrorResponse
	if errors.As(err, &resp) {
		switch resp.Code {
		case "SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout":
			return true
		}
		return resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests
	}
	var netErr net.Error
	return errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) ||
		(errors.As(err, &netErr) && netErr.Timeout())
}
