package registry

import (
	"testing"

	"github.com/realm-ai/realm/engine"
	"github.com/realm-ai/realm/engine/errs"
	"github.com/stretchr/testify/require"
)

func TestParseRequestDefaultsAndFields(t *testing.T) {
	req := request(t, `{"prompt": "hi"}`)
	require.True(t, req.HasPrompt)
	require.Equal(t, "hi", req.Prompt)
	require.False(t, req.Batch())
	require.Equal(t, engine.DefaultSamplingParams(), req.Sampling)

	req = request(t, `{"prompts": ["a", "b"], "max_tokens": 7, "temperature": 0, "top_k": 3,
		"top_p": 0.5, "min_p": 0.1, "repeat_penalty": 1.1, "repeat_last_n": -1, "seed": 18446744073709551615,
		"stop": ["\n"], "messages": null}`)
	require.True(t, req.Batch())
	require.Equal(t, []string{"a", "b"}, req.Prompts)
	want := engine.SamplingParams{MaxTokens: 7, Temperature: 0, TopK: 3, TopP: 0.5, MinP: 0.1,
		RepeatPenalty: 1.1, RepeatLastN: -1, Seed: 1<<64 - 1, Stop: []string{"\n"}}
	require.Equal(t, want, req.Sampling)

	req = request(t, `{"messages": [{"role": "user", "content": "hey"}]}`)
	require.Equal(t, []engine.Message{{Role: "user", Content: "hey"}}, req.Messages)
	require.False(t, req.HasPrompt)
}

func TestParseRequestErrorsNameTheField(t *testing.T) {
	for _, tc := range []struct{ js, want string }{
		{``, "empty"},
		{`{"prompt": "a", "temprature": 0}`, `unknown field "temprature"`},
		{`{"prompt": "a", "temperature": "hot"}`, `"temperature"`},
		{`{"prompt": "a", "seed": -1}`, `"seed"`},
		{`{"prompt": "a", "max_tokens": 1.5}`, `"max_tokens"`},
		{`{"prompt": "a", "max_tokens": -1}`, `max_tokens`},
		{`{"prompt": "a", "top_p": 2}`, `top_p`},
		{`{"prompt": "a", "temperature": -1}`, `temperature`},
		{`{"prompt": "a", "stop": [""]}`, `stop[0]`},
		{`{"prompt": "a", "stop": "x"}`, `"stop"`},
		{`{"prompt": 3}`, `"prompt"`},
		{`{}`, `exactly one of`},
		{`{"prompt": "a", "prompts": ["b"]}`, `exactly one of`},
		{`{"prompts": []}`, `"prompts" is empty`},
		{`{"messages": []}`, `"messages" is empty`},
		{`{"messages": [{"content": "x"}]}`, `messages[0] has no "role"`},
		{`{"messages": [{"role": "user", "contents": "x"}]}`, `unknown field "contents"`},
		{`{"prompt": "a"} {}`, `trailing data`},
		{`{"prompt": "a"`, `truncated`},
		{`{"prompt": "a",}`, `invalid JSON`},
		{`[1]`, `want an object`},
	} {
		_, err := ParseRequest([]byte(tc.js))
		require.ErrorIs(t, err, errs.ErrInvalidArgument, tc.js)
		require.Contains(t, err.Error(), tc.want, tc.js)
	}
}

func TestDecodeOptions(t *testing.T) {
	var o Options
	require.NoError(t, Decode("options", nil, &o))
	require.NoError(t, Decode("options", []byte(" null "), &o))
	require.Equal(t, Options{}, o)
	require.NoError(t, Decode("options", []byte(`{"threads": 2, "context_length": 512}`), &o))
	require.Equal(t, Options{Threads: 2, ContextLength: 512}, o)
	err := Decode("options", []byte(`{"thread": 2}`), &o)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	require.Contains(t, err.Error(), `options: unknown field "thread"`)
	var ids []int32
	err = Decode("tokens", []byte(`[1, 4294967296]`), &ids)
	require.ErrorIs(t, err, errs.ErrInvalidArgument)
	require.Contains(t, err.Error(), "tokens")
	require.ErrorIs(t, Options{Threads: -1}.Validate(), errs.ErrInvalidArgument)
	require.ErrorIs(t, Options{ContextLength: -1}.Validate(), errs.ErrInvalidArgument)
}
