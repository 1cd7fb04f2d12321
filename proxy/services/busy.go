package services

import (
	"net/http"
	"strconv"
	"time"

	"jpegveil/proxy/internal/budget"
)

// Busy is the outcome of a request answered 503 because the memory for
// buffered uploads was in use.
const Busy Outcome = "busy"

// busyRetry is the Retry-After of a 503 for memory: about the time a
// buffered upload takes to leave.
const busyRetry = 5 * time.Second

// IsBusy reports whether err says that the memory budget for buffered
// uploads is spent.
func IsBusy(err error) bool { return budget.IsExhausted(err) }

// AnswerBusy answers a request the proxy has no memory for right now: 503
// with Retry-After, after reading what is left of the body (a client still
// sending often sees a reset instead of the answer). Nothing of the
// request went to the service, so trying again loses nothing.
func AnswerBusy(ex Exchange, why error) (*http.Response, error) {
	req := ex.Request()
	Drain(req.Body)
	ex.Record(Busy, why)
	h := make(http.Header)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Retry-After", strconv.Itoa(int(busyRetry/time.Second)))
	resp := Respond(req, http.StatusServiceUnavailable, h, "jpegveil is holding as many uploads in memory as it may; try again shortly ("+why.Error()+")\n")
	resp.Close = true
	return resp, nil
}
