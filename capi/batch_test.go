package main

import (
	"testing"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/stretchr/testify/require"
)

// A "prompts" stream interleaves its prompts' chunks with their "index";
// realm_stream_cancel_prompt stops one prompt.
func TestBatchStreamThroughTheABI(t *testing.T) {
	h, err := realmNew(`{"context_length": 512}`)
	require.NoError(t, err)
	defer realmFree(h)
	require.NoError(t, realmLoadModelBytes(h, tinyImage(t), ""))

	s, err := realmStreamStart(h, `{"prompts": ["the hall", "in", "the"], "temperature": 0, "max_tokens": 6}`)
	require.NoError(t, err)
	require.ErrorIs(t, streamCancelPrompt(s, 3), errs.ErrInvalidArgument)
	texts := map[int]string{}
	finals := map[int]map[string]any{}
	for {
		js, err := streamNext(s, 5000)
		if statusOf(err) == statusStreamDone {
			break
		}
		require.NoError(t, err)
		c := decodeJSON(t, js)
		i := 0
		if v, ok := c["index"]; ok {
			i = int(v.(float64))
			require.NotZero(t, i, "index 0 is left out")
		}
		texts[i] += c["text"].(string)
		if c["done"].(bool) {
			finals[i] = c
		}
	}
	require.NoError(t, streamFree(s))
	require.Len(t, finals, 3)

	for i, p := range []string{"the hall", "in", "the"} {
		one, err := realmGenerate(h, `{"prompt": "`+p+`", "temperature": 0, "max_tokens": 6}`)
		require.NoError(t, err)
		require.Equal(t, decodeJSON(t, one)["text"], texts[i], "prompt %d", i)
	}
}
