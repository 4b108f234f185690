package server

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Histogram bucket upper bounds, in seconds.
var (
	// latencyBuckets suit whole requests: a completion takes from a few
	// milliseconds (a cached prompt, one token) to minutes.
	latencyBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300}
	// ttftBuckets suit the time to the first token: the prompt's
	// evaluation plus one decoding step, and any wait for a busy realm.
	ttftBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}
)

// histogram is a Prometheus histogram with fixed buckets.
type histogram struct {
	bounds []float64
	counts []uint64 // per bucket, not cumulative; one extra for +Inf
	sum    float64
	count  uint64
}

func newHistogram(bounds []float64) *histogram {
	return &histogram{bounds: bounds, counts: make([]uint64, len(bounds)+1)}
}

func (h *histogram) observe(v float64) {
	i := sort.SearchFloat64s(h.bounds, v) // first bound >= v
	h.counts[i]++
	h.sum += v
	h.count++
}

// metrics holds the server's counters; its methods are safe for concurrent
// use. It is written out in the Prometheus text format (version 0.0.4) by
// hand, without a client library.
type metrics struct {
	mu               sync.Mutex
	requests         map[[2]string]uint64 // endpoint, status code
	promptTokens     map[string]uint64    // by model
	completionTokens map[string]uint64    // by model
	cancelled        map[string]uint64    // by model
	latency          map[string]*histogram
	ttft             map[string]*histogram // by model
	inFlight         map[string]int64      // by endpoint
}

func newMetrics() *metrics {
	return &metrics{
		requests:         map[[2]string]uint64{},
		promptTokens:     map[string]uint64{},
		completionTokens: map[string]uint64{},
		cancelled:        map[string]uint64{},
		latency:          map[string]*histogram{},
		ttft:             map[string]*histogram{},
		inFlight:         map[string]int64{},
	}
}

// begin counts a request in flight on endpoint; the returned function ends
// it with its status code.
func (m *metrics) begin(endpoint string) func(status int) {
	start := time.Now()
	m.mu.Lock()
	m.inFlight[endpoint]++
	m.mu.Unlock()
	return func(status int) {
		d := time.Since(start).Seconds()
		m.mu.Lock()
		defer m.mu.Unlock()
		m.inFlight[endpoint]--
		m.requests[[2]string{endpoint, strconv.Itoa(status)}]++
		h := m.latency[endpoint]
		if h == nil {
			h = newHistogram(latencyBuckets)
			m.latency[endpoint] = h
		}
		h.observe(d)
	}
}

// tokens adds a generation's token counts.
func (m *metrics) tokens(model string, prompt, completion int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.promptTokens[model] += uint64(prompt)
	m.completionTokens[model] += uint64(completion)
}

// cancel counts a generation cancelled before its end (its client left,
// or the server shut down).
func (m *metrics) cancel(model string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.cancelled[model]++
}

// firstToken records a time to first token.
func (m *metrics) firstToken(model string, d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	h := m.ttft[model]
	if h == nil {
		h = newHistogram(ttftBuckets)
		m.ttft[model] = h
	}
	h.observe(d.Seconds())
}

// write writes every metric; realms gives the live tenant Realms by model
// and draining whether the server is shutting down.
func (m *metrics) write(w io.Writer, realms map[string]int, draining bool) error {
	var b strings.Builder
	m.mu.Lock()
	header(&b, "realm_http_requests_total", "counter", "HTTP requests answered, by endpoint and status code.")
	reqKeys := make([][2]string, 0, len(m.requests))
	for k := range m.requests {
		reqKeys = append(reqKeys, k)
	}
	sort.Slice(reqKeys, func(i, j int) bool {
		if reqKeys[i][0] != reqKeys[j][0] {
			return reqKeys[i][0] < reqKeys[j][0]
		}
		return reqKeys[i][1] < reqKeys[j][1]
	})
	for _, k := range reqKeys {
		fmt.Fprintf(&b, "realm_http_requests_total{endpoint=%s,status=%s} %d\n", quote(k[0]), quote(k[1]), m.requests[k])
	}
	header(&b, "realm_http_requests_in_flight", "gauge", "HTTP requests being answered, by endpoint.")
	for _, k := range sortedKeys(m.inFlight) {
		fmt.Fprintf(&b, "realm_http_requests_in_flight{endpoint=%s} %d\n", quote(k), m.inFlight[k])
	}
	header(&b, "realm_prompt_tokens_total", "counter", "Prompt tokens of finished generations, by model.")
	for _, k := range sortedKeys(m.promptTokens) {
		fmt.Fprintf(&b, "realm_prompt_tokens_total{model=%s} %d\n", quote(k), m.promptTokens[k])
	}
	header(&b, "realm_completion_tokens_total", "counter", "Generated tokens of finished generations, by model.")
	for _, k := range sortedKeys(m.completionTokens) {
		fmt.Fprintf(&b, "realm_completion_tokens_total{model=%s} %d\n", quote(k), m.completionTokens[k])
	}
	header(&b, "realm_generations_cancelled_total", "counter", "Generations cancelled by a client leaving or by shutdown, by model.")
	for _, k := range sortedKeys(m.cancelled) {
		fmt.Fprintf(&b, "realm_generations_cancelled_total{model=%s} %d\n", quote(k), m.cancelled[k])
	}
	header(&b, "realm_http_request_duration_seconds", "histogram", "Time to answer an HTTP request (a stream: until its end), by endpoint.")
	for _, k := range sortedKeys(m.latency) {
		writeHistogram(&b, "realm_http_request_duration_seconds", "endpoint", k, m.latency[k])
	}
	header(&b, "realm_time_to_first_token_seconds", "histogram", "Time from a completion request's arrival to its first generated token, by model.")
	for _, k := range sortedKeys(m.ttft) {
		writeHistogram(&b, "realm_time_to_first_token_seconds", "model", k, m.ttft[k])
	}
	m.mu.Unlock()
	header(&b, "realm_active_realms", "gauge", "Live tenant Realms (each with its own KV cache), by model.")
	for _, k := range sortedKeys(realms) {
		fmt.Fprintf(&b, "realm_active_realms{model=%s} %d\n", quote(k), realms[k])
	}
	header(&b, "realm_draining", "gauge", "1 while the server shuts down, else 0.")
	d := 0
	if draining {
		d = 1
	}
	fmt.Fprintf(&b, "realm_draining %d\n", d)
	_, err := io.WriteString(w, b.String())
	return err
}

func header(b *strings.Builder, name, kind, help string) {
	fmt.Fprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind)
}

func writeHistogram(b *strings.Builder, name, label, value string, h *histogram) {
	var cum uint64
	for i, bound := range h.bounds {
		cum += h.counts[i]
		fmt.Fprintf(b, "%s_bucket{%s=%s,le=%s} %d\n", name, label, quote(value), quote(formatFloat(bound)), cum)
	}
	cum += h.counts[len(h.bounds)]
	fmt.Fprintf(b, "%s_bucket{%s=%s,le=\"+Inf\"} %d\n", name, label, quote(value), cum)
	fmt.Fprintf(b, "%s_sum{%s=%s} %s\n", name, label, quote(value), formatFloat(h.sum))
	fmt.Fprintf(b, "%s_count{%s=%s} %d\n", name, label, quote(value), h.count)
}

func formatFloat(v float64) string {
	if math.IsInf(v, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// quote writes a label value with the escapes of the text format.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
