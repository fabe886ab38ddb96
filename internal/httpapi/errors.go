package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"

	"github.com/shadower/shadower/internal/execution"
)

// statusOf maps each error code to its HTTP status.
var statusOf = map[string]int{
	execution.EInvalid:      http.StatusBadRequest,
	execution.EInvalidEvent: http.StatusBadRequest,
	execution.EUnauthorized: http.StatusUnauthorized,
	execution.EForbidden:    http.StatusForbidden,
	execution.ENotFound:     http.StatusNotFound,
	execution.ETooLarge:     http.StatusRequestEntityTooLarge,
	execution.EOverloaded:   http.StatusTooManyRequests,
	execution.EUnavailable:  http.StatusServiceUnavailable,
	execution.EInternal:     http.StatusInternalServerError,
}

type errorBody struct {
	Error errorJSON `json:"error"`
}

type errorJSON struct {
	Code    string             `json:"code"`
	Message string             `json:"message"`
	Where   string             `json:"where,omitempty"`
	Details []execution.Detail `json:"details,omitempty"`
}

// writeError answers with the JSON error for err. Errors that are not ours
// are internal: logged here, once, and shown only as a generic message.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *execution.Error
	if !errors.As(err, &e) {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		e = &execution.Error{Code: execution.EInternal, Message: "an internal error occurred; it has been logged"}
	}
	status, ok := statusOf[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
		secs := max(1, int64(math.Ceil(e.RetryAfter.Seconds())))
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	writeJSON(w, status, errorBody{Error: errorJSON{Code: e.Code, Message: e.Message, Where: e.Where, Details: e.Details}})
}

// writeJSON encodes v before the status goes out, so a value that cannot be
// encoded is a 500, never a 200 with a broken body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b, _ = json.Marshal(errorBody{Error: errorJSON{Code: execution.EInternal, Message: "the answer could not be encoded"}})
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
