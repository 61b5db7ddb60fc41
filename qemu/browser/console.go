package browser

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
)

// Errors returns what the page reported as errors so far, one line each:
// console.error calls, uncaught exceptions (and unhandled rejections), and
// browser log entries of level error (a resource that failed to load, a
// blocked request). A test that wants a clean page checks it is empty.
func (b *Browser) Errors() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.errs)
}

// event is the tab's listener (chromedp.WithListener): it runs on the
// tab's reading goroutine, so it only records.
func (b *Browser) event(ev any) {
	var msg string
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type != runtime.ConsoleAPICalledTypeError && e.Type != runtime.ConsoleAPICalledTypeAssert {
			return
		}
		msg = "console." + string(e.Type) + ": " + args(e.Args) + where(e.StackTrace)
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		text := d.Text
		if d.Exception != nil && d.Exception.Description != "" {
			text += " " + d.Exception.Description
		}
		msg = fmt.Sprintf("exception: %s (%s:%d:%d)", text, d.URL, d.LineNumber+1, d.ColumnNumber+1)
	case *log.EventEntryAdded:
		if e.Entry.Level != log.EntryLevelError {
			return
		}
		msg = fmt.Sprintf("log %s: %s (%s)", e.Entry.Source, e.Entry.Text, e.Entry.URL)
	default:
		return
	}
	b.mu.Lock()
	b.errs = append(b.errs, msg)
	b.mu.Unlock()
}

// args renders console arguments: strings as they are, other values by
// their description or JSON value.
func args(objs []*runtime.RemoteObject) string {
	var parts []string
	for _, o := range objs {
		var s string
		switch {
		case o.Type == runtime.RemoteObjectTypeString && json.Unmarshal(o.Value, &s) == nil:
			parts = append(parts, s)
		case o.Description != "":
			parts = append(parts, o.Description)
		default:
			parts = append(parts, string(o.Value))
		}
	}
	return strings.Join(parts, " ")
}

// where is " (url:line:col)" of a stack's top frame, or "".
func where(st *runtime.StackTrace) string {
	if st == nil || len(st.CallFrames) == 0 {
		return ""
	}
	f := st.CallFrames[0]
	return fmt.Sprintf(" (%s:%d:%d)", f.URL, f.LineNumber+1, f.ColumnNumber+1)
}
