package server

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMetricsText(t *testing.T) {
	m := newMetrics()
	end := m.begin("/v1/completions")
	end(200)
	m.begin("/v1/completions")(400)
	m.begin("/v1/completions") // still in flight
	m.tokens(`we"ird\model`, 10, 3)
	m.tokens(`we"ird\model`, 5, 2)
	h := newHistogram([]float64{1, 2})
	h.observe(0.5)
	h.observe(1) // le is inclusive
	h.observe(3)
	var b strings.Builder
	writeHistogram(&b, "x", "k", "v", h)
	require.Equal(t, `x_bucket{k="v",le="1"} 2
x_bucket{k="v",le="2"} 2
x_bucket{k="v",le="+Inf"} 3
x_sum{k="v"} 4.5
x_count{k="v"} 3
`, b.String())

	var out strings.Builder
	require.NoError(t, m.write(&out, map[string]int{"smol": 2}, true))
	text := out.String()
	for _, want := range []string{
		`realm_http_requests_total{endpoint="/v1/completions",status="200"} 1`,
		`realm_http_requests_total{endpoint="/v1/completions",status="400"} 1`,
		`realm_http_requests_in_flight{endpoint="/v1/completions"} 1`,
		`realm_prompt_tokens_total{model="we\"ird\\model"} 15`,
		`realm_completion_tokens_total{model="we\"ird\\model"} 5`,
		`realm_active_realms{model="smol"} 2`,
		"realm_draining 1",
		"# TYPE realm_http_request_duration_seconds histogram",
	} {
		require.Contains(t, text, want)
	}
	// Every sample line follows a TYPE line of its family.
	typed := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		if f, ok := strings.CutPrefix(line, "# TYPE "); ok {
			typed[strings.Fields(f)[0]] = true
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue
		}
		name := line[:strings.IndexAny(line, "{ ")]
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		require.True(t, typed[name] || typed[base], "sample %q has no TYPE", line)
	}
}
