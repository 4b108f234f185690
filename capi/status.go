package main

import (
	"errors"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/registry"
)

// Status codes; they equal the REALM_* macros of realm.h (a test checks).
const (
	statusOK               = 0
	statusNotLoaded        = 1
	statusNotFound         = 2
	statusInvalidModel     = 3
	statusUnsupportedModel = 4
	statusInvalidArgument  = 5
	statusSandbox          = 6
	statusCancelled        = 7
	statusClosed           = 8
	statusContextLength    = 9
	statusInternal         = 10
	statusMemoryBudget     = 11
	statusStreamTimeout    = 100
	statusStreamDone       = 101
)

// statusTable maps each error sentinel to its status code. Every error of
// the engine and the registry wraps exactly one sentinel; should one wrap
// several, the first match in this order wins.
var statusTable = []struct {
	err    error
	status int
}{
	{registry.ErrTimeout, statusStreamTimeout},
	{registry.ErrDone, statusStreamDone},
	{errs.ErrClosed, statusClosed},
	{errs.ErrCancelled, statusCancelled},
	{errs.ErrSandbox, statusSandbox},
	{errs.ErrContextLength, statusContextLength},
	{errs.ErrNotLoaded, statusNotLoaded},
	{errs.ErrNotFound, statusNotFound},
	{errs.ErrMemoryBudget, statusMemoryBudget},
	{errs.ErrInvalidModel, statusInvalidModel},
	{errs.ErrUnsupportedModel, statusUnsupportedModel},
	{errs.ErrInvalidArgument, statusInvalidArgument},
}

// statusOf returns the status code of err (statusOK for nil); an error
// that wraps no sentinel is a bug: statusInternal.
func statusOf(err error) int {
	if err == nil {
		return statusOK
	}
	for _, e := range statusTable {
		if errors.Is(err, e.err) {
			return e.status
		}
	}
	return statusInternal
}

// invoke runs fn and returns its status and, for an error status, the
// message. A panic in fn becomes statusInternal with the panic's value and
// where it happened: no panic escapes into C.
func invoke(fn func() error) (status int, msg string) {
	defer func() {
		if p := recover(); p != nil {
			status = statusInternal
			msg = fmt.Sprintf("internal error: panic: %v\n%s", p, panicSite(debug.Stack()))
		}
	}()
	err := fn()
	status = statusOf(err)
	if status == statusInternal {
		return status, "internal error: " + err.Error()
	}
	if err != nil && status != statusStreamTimeout && status != statusStreamDone {
		return status, err.Error()
	}
	return status, ""
}

// panicSite trims a goroutine stack to the frames from the panic on, at
// most a few, to say where a panic happened without flooding the message.
func panicSite(stack []byte) string {
	lines := strings.Split(string(stack), "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "panic(") { // the runtime's panic frame: what follows is the culprit
			lines = lines[min(i+2, len(lines)):]
			break
		}
	}
	return strings.Join(lines[:min(len(lines), 8)], "\n")
}
