package sandbox

import (
	"fmt"

	"github.com/realm-ai/realm/engine/errs"
)

// Kind classifies a sandbox failure.
type Kind int

// The kinds of sandbox failure.
const (
	// KindInvalidModule: the bytes are not a valid WebAssembly module.
	KindInvalidModule Kind = iota + 1
	// KindImport: the module imports something the host does not offer
	// (anything outside module "realm", or a "realm" function that does not
	// exist or has another type).
	KindImport
	// KindExport: a required export is missing or has the wrong type.
	KindExport
	// KindVersion: realm_abi_version returned a version the host does not
	// speak.
	KindVersion
	// KindMemoryLimit: the module needs more memory than the cap, or ran
	// out of memory under it.
	KindMemoryLimit
	// KindDeadline: the guest used up its time budget (an endless loop).
	KindDeadline
	// KindTrap: the guest trapped (unreachable, out-of-bounds access,
	// division by zero, stack overflow, ...).
	KindTrap
	// KindBadResult: the guest returned a value the ABI does not allow (a
	// token id outside the vocabulary, a buffer outside its memory) or
	// passed an invalid range to a host function.
	KindBadResult
	// KindGuestError: the guest reported an error (a negative code other
	// than REALM_STOP).
	KindGuestError
)

var kindNames = map[Kind]string{
	KindInvalidModule: "invalid module",
	KindImport:        "forbidden import",
	KindExport:        "bad export",
	KindVersion:       "ABI version",
	KindMemoryLimit:   "memory limit",
	KindDeadline:      "deadline exceeded",
	KindTrap:          "trap",
	KindBadResult:     "bad result",
	KindGuestError:    "guest error",
}

// String names the kind.
func (k Kind) String() string {
	if s, ok := kindNames[k]; ok {
		return s
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Error is a guest failure. It wraps errs.ErrSandbox.
type Error struct {
	// Kind classifies the failure.
	Kind Kind
	// Module identifies the module: the first 12 hex digits of the SHA-256
	// of its bytes ("" before the bytes were hashed).
	Module string
	// Op is what the host was doing: "compile", "instantiate", or the
	// guest function or host import involved ("realm_step", "realm.log").
	Op string
	// Detail names the cause, e.g. `wasm error: unreachable` or
	// `import "wasi_snapshot_preview1"."fd_write" is not offered`.
	Detail string
}

// Error implements error.
func (e *Error) Error() string {
	mod := ""
	if e.Module != "" {
		mod = " module " + e.Module + ":"
	}
	return fmt.Sprintf("%v:%s %s: %s: %s", errs.ErrSandbox, mod, e.Op, e.Kind, e.Detail)
}

// Unwrap returns errs.ErrSandbox.
func (e *Error) Unwrap() error { return errs.ErrSandbox }
