package tlshello

import "fmt"

func errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Reason: fmt.Sprintf(format, args...)}
}

func tooLarge(format string, args ...any) *Error {
	return errorf(KindTooLarge, format, args...)
}
