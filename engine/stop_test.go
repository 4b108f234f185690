package engine

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestStopFilterHoldsBackPrefixes(t *testing.T) {
	f := &stopFilter{stops: []string{"END", "\n\n"}}
	var got []string
	push := func(s string) bool {
		r, stopped := f.push(s)
		got = append(got, r)
		return stopped
	}
	require.False(t, push("Hello E"))
	require.False(t, push("N"))
	require.False(t, push("jo"))  // "ENjo" cannot start a stop: released
	require.False(t, push("y\n")) // "\n" may start "\n\n": held
	require.True(t, push("\nmore"))
	require.Equal(t, []string{"Hello ", "", "ENjo", "y", ""}, got)
	require.Equal(t, "Hello ENjoy", f.text())
	r, stopped := f.push("after")
	require.True(t, stopped)
	require.Empty(t, r)
	require.Empty(t, f.flush("x"))
}

func TestStopFilterEarliestStopWins(t *testing.T) {
	f := &stopFilter{stops: []string{"world", "lo w"}}
	r, stopped := f.push("hello world")
	require.True(t, stopped)
	require.Equal(t, "hel", r)
	require.Equal(t, "hel", f.text())
}

func TestStopFilterFlushReleasesHeldText(t *testing.T) {
	f := &stopFilter{stops: []string{"</s>"}}
	r, stopped := f.push("a </")
	require.False(t, stopped)
	require.Equal(t, "a ", r)
	require.Equal(t, "</x", f.flush("x"))
	require.Equal(t, "a </x", f.text())
}

func TestStopFilterWithoutStops(t *testing.T) {
	f := &stopFilter{}
	r, stopped := f.push("abc")
	require.False(t, stopped)
	require.Equal(t, "abc", r)
	require.Empty(t, f.flush(""))
}
