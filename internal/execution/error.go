package execution

import (
	"errors"
	"fmt"
	"time"
)

// Error codes. Each maps to one HTTP status in the HTTP layer.
const (
	EInvalid      = "invalid_request"   // a parameter or body is malformed
	EInvalidEvent = "invalid_event"     // one or more events of a batch break the rules
	EUnauthorized = "unauthorized"      // no key, or a key the server does not know
	EForbidden    = "forbidden"         // a key outside its workspace or scope
	ENotFound     = "not_found"         // no such execution, key or route
	ETooLarge     = "payload_too_large" // a batch over the event or byte limit
	EOverloaded   = "overloaded"        // the server sheds load; retry later
	EUnavailable  = "unavailable"       // storage cannot take writes now; retry later
	EInternal     = "internal"          // a fault of the server; details are logged, not shown
)

// Detail locates one problem inside a batch: the event's index, the field
// and what is wrong with it.
type Detail struct {
	Index   int    `json:"index"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is the one error type users see: a code, a human message and, for
// validation failures, where the problems are.
type Error struct {
	Code    string
	Message string
	Details []Detail
	// Where names the parameter or body part at fault, when there is one.
	Where string
	// RetryAfter tells a client refused for load when to try again.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if len(e.Details) > 0 {
		return fmt.Sprintf("%s: %s (%d problems, first: event %d %s: %s)", e.Code, e.Message,
			len(e.Details), e.Details[0].Index, e.Details[0].Field, e.Details[0].Message)
	}
	return e.Code + ": " + e.Message
}

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ParamError returns an invalid_request error naming the query parameter at fault.
func ParamError(param, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Message: fmt.Sprintf(format, args...), Where: param}
}

// ErrorCode returns the code of err when it is an *Error, else EInternal.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}
