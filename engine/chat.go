package engine

import (
	"fmt"
	"strings"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/jinja"
)

// Message is one turn of a chat.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ApplyChatTemplate renders msgs with the model's chat template
// (tokenizer.chat_template, a Jinja template) the way Hugging Face
// transformers does: the template sees messages (a list of {role, content}),
// tools and documents (None), add_generation_prompt, bos_token and eos_token. addGenerationPrompt asks
// the template to end with the opening of the assistant's turn. A model
// without a template gets its architecture's built-in format when it has
// one (builtinChat: Gemma's turns), else ChatML, as llama.cpp does.
// Tokenize the result with addSpecial and parseSpecial = true.
func (m *Model) ApplyChatTemplate(msgs []Message, addGenerationPrompt bool) (string, error) {
	if err := m.acquire(); err != nil {
		return "", err
	}
	defer m.mu.RUnlock()
	for i, msg := range msgs {
		if msg.Role == "" {
			return "", fmt.Errorf("%w: chat message %d has no role", errs.ErrInvalidArgument, i)
		}
	}
	if m.tmplErr != nil {
		return "", fmt.Errorf("%w: chat template: %v", errs.ErrUnsupportedModel, m.tmplErr)
	}
	if m.tmpl == nil {
		if render, ok := builtinChat[m.info.Architecture]; ok {
			return render(msgs, addGenerationPrompt), nil
		}
		return chatML(msgs, addGenerationPrompt), nil
	}
	list := make([]any, len(msgs))
	for i, msg := range msgs {
		d := jinja.NewDict() // ordered, as a Python dict: role, then content
		d.Set("role", msg.Role)
		d.Set("content", msg.Content)
		list[i] = d
	}
	out, err := m.tmpl.Render(map[string]any{
		"messages":              list,
		"tools":                 nil,
		"documents":             nil,
		"add_generation_prompt": addGenerationPrompt,
		"bos_token":             m.tok.TokenText(m.tok.BOS()),
		"eos_token":             m.tok.TokenText(m.tok.EOS()),
	})
	if err != nil {
		// The template ran but rejected the input (raise_exception, a
		// role it does not know): the caller's messages are at fault.
		return "", fmt.Errorf("%w: chat template: %v", errs.ErrInvalidArgument, err)
	}
	return out, nil
}

// chatML renders msgs in the ChatML format.
func chatML(msgs []Message, addGenerationPrompt bool) string {
	var b strings.Builder
	for _, msg := range msgs {
		fmt.Fprintf(&b, "<|im_start|>%s\n%s<|im_end|>\n", msg.Role, msg.Content)
	}
	if addGenerationPrompt {
		b.WriteString("<|im_start|>assistant\n")
	}
	return b.String()
}

// builtinChat maps an architecture to the chat format used when its file
// has no tokenizer.chat_template. Gemma GGUFs converted from base models
// (Gemma 3 270M among them) carry none. llama.cpp would then fall back to
// ChatML, whose markers mean nothing to Gemma; Realm uses llama.cpp's
// built-in "gemma" template instead (what llama_chat_apply_template
// renders for "gemma", and what llama.cpp picks itself for any template
// containing "<start_of_turn>", the Gemma 3 instruct template included).
var builtinChat = map[string]func(msgs []Message, addGenerationPrompt bool) string{
	"gemma":  gemmaChat,
	"gemma2": gemmaChat,
	"gemma3": gemmaChat,
}

// gemmaChat renders msgs in Gemma's turn format exactly as llama.cpp's
// built-in "gemma" template does: "<start_of_turn>ROLE\nCONTENT<end_of_turn>\n"
// per message with the content trimmed, "assistant" spelled "model", and
// system messages (Gemma has no system role) trimmed and prepended to the
// next non-model turn followed by a blank line. The text has no BOS: the
// tokenizer adds it.
func gemmaChat(msgs []Message, addGenerationPrompt bool) string {
	var b strings.Builder
	system := ""
	for _, msg := range msgs {
		role := msg.Role
		if role == "system" {
			system += trimSpaceC(msg.Content)
			continue
		}
		if role == "assistant" {
			role = "model"
		}
		fmt.Fprintf(&b, "<start_of_turn>%s\n", role)
		if system != "" && role != "model" {
			b.WriteString(system + "\n\n")
			system = ""
		}
		b.WriteString(trimSpaceC(msg.Content) + "<end_of_turn>\n")
	}
	if addGenerationPrompt {
		b.WriteString("<start_of_turn>model\n")
	}
	return b.String()
}

// trimSpaceC trims the bytes C's isspace accepts (space, \t, \n, \v, \f,
// \r) from both ends of s, like llama.cpp's trim; Unicode spaces stay.
func trimSpaceC(s string) string {
	return strings.Trim(s, " \t\n\v\f\r")
}
