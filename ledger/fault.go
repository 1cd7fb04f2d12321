package ledger

import (
	"fmt"
	"runtime/debug"
)

// FaultError is a fault inside the ledger file found while using it: bbolt
// panicked on a page it could not make sense of, or reading the mapped file
// faulted (it was cut short under the running process). The operation
// failed; the ledger refuses every later operation too, because a file
// that faulted once cannot be trusted to answer correctly.
type FaultError struct {
	Path  string
	Op    string
	Cause string
}

func (e *FaultError) Error() string {
	return fmt.Sprintf("ledger %s %s: %v: %s (stop jpegveil and run 'jpegveil ledger check')", e.Op, e.Path, ErrCorrupt, e.Cause)
}

// Unwrap makes errors.Is(err, ErrCorrupt) hold.
func (e *FaultError) Unwrap() error { return ErrCorrupt }

// protect runs fn, turning a panic in bbolt and a memory fault on the
// mapped file (debug.SetPanicOnFault) into a *FaultError. The first fault
// is remembered and returned by every later call.
func (b *BoltLedger) protect(op string, fn func() error) (err error) {
	if f := b.fault.Load(); f != nil {
		return f
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			f := &FaultError{Path: b.path, Op: op, Cause: fmt.Sprint(r)}
			b.fault.CompareAndSwap(nil, f)
			err = f
		}
	}()
	return fn()
}

// safely runs fn with the same protection, for code that has no ledger yet
// (opening).
func safely(path, op string, fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = &FaultError{Path: path, Op: op, Cause: fmt.Sprint(r)}
		}
	}()
	return fn()
}
