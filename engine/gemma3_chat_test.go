package engine

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/realm-ai/realm/engine/jinja"
	"github.com/realm-ai/realm/engine/model/testmodel"
	"github.com/realm-ai/realm/engine/tensor"
	"github.com/stretchr/testify/require"
)

func tinyGemma(t *testing.T, template string) *Model {
	t.Helper()
	tm := testmodel.NewGemma3(tensor.Q8_0)
	tm.ChatTemplate = template
	img, err := tm.Build()
	require.NoError(t, err)
	m, err := LoadBytes("tiny-gemma3.gguf", img, LoadOptions{})
	require.NoError(t, err)
	t.Cleanup(func() { m.Close() })
	return m
}

// A Gemma file without tokenizer.chat_template is chatted with in Gemma's
// turn format, exactly as llama.cpp's built-in "gemma" template renders it.
func TestGemmaChatFallback(t *testing.T) {
	m := tinyGemma(t, "")
	require.Equal(t, "gemma3", m.Info().Architecture)
	require.False(t, m.Info().HasChatTemplate)
	got, err := m.ApplyChatTemplate([]Message{
		{Role: "system", Content: " Be brief.\n"},
		{Role: "user", Content: "\tHi there "},
		{Role: "assistant", Content: "Hello!"},
		{Role: "user", Content: "What is the capital of France?"},
	}, true)
	require.NoError(t, err)
	require.Equal(t, "<start_of_turn>user\nBe brief.\n\nHi there<end_of_turn>\n"+
		"<start_of_turn>model\nHello!<end_of_turn>\n"+
		"<start_of_turn>user\nWhat is the capital of France?<end_of_turn>\n"+
		"<start_of_turn>model\n", got)

	got, err = m.ApplyChatTemplate([]Message{{Role: "user", Content: "Hi"}}, false)
	require.NoError(t, err)
	require.Equal(t, "<start_of_turn>user\nHi<end_of_turn>\n", got)

	// Other architectures without a template keep ChatML.
	require.Equal(t, "<|im_start|>user\nHi<|im_end|>\n", chatML([]Message{{Role: "user", Content: "Hi"}}, false))
}

// The fallback renders what the gemma-3-it template renders (less its
// leading BOS, which the tokenizer adds) for the conversations both accept.
func TestGemmaChatFallbackMatchesGemma3Template(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("jinja", "testdata", "templates", "gemma3.jinja"))
	require.NoError(t, err)
	tmpl, err := jinja.Parse(string(src))
	require.NoError(t, err)
	for _, msgs := range [][]Message{
		{{Role: "user", Content: "What is the capital of France?"}},
		{{Role: "system", Content: "Answer in French."}, {Role: "user", Content: " Hello "}},
		{{Role: "user", Content: "1+1?"}, {Role: "assistant", Content: "2"}, {Role: "user", Content: "And 2+2?"}},
	} {
		list := make([]any, len(msgs))
		for i, msg := range msgs {
			list[i] = map[string]any{"role": msg.Role, "content": msg.Content}
		}
		want, err := tmpl.Render(map[string]any{"messages": list, "add_generation_prompt": true, "bos_token": "", "eos_token": "<eos>"})
		require.NoError(t, err)
		require.Equal(t, want, gemmaChat(msgs, true))
	}

	// A template in the file wins over the fallback.
	m := tinyGemma(t, "{% for m in messages %}[{{ m['content'] }}]{% endfor %}")
	got, err := m.ApplyChatTemplate([]Message{{Role: "user", Content: "Hi"}}, true)
	require.NoError(t, err)
	require.Equal(t, "[Hi]", got)
}
