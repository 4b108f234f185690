package tokenizer

import (
	"fmt"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/gguf"
)

// FromGGUF builds the tokenizer described by a model file's tokenizer.*
// metadata, as llama.cpp's llama_vocab::load does. Malformed metadata fails
// with errs.ErrInvalidModel; a tokenizer model or pre-tokenizer Realm does
// not implement fails with errs.ErrUnsupportedModel.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	cfg, err := ConfigFromGGUF(f)
	if err != nil {
		return nil, err
	}
	return build(cfg, "gguf "+f.Path+": tokenizer")
}

// ConfigFromGGUF reads the tokenizer.* metadata of a model file into a
// Config without building the tokenizer.
func ConfigFromGGUF(f *gguf.File) (Config, error) {
	var cfg Config
	var err error
	has := func(key string) bool { _, ok := f.Get(key); return ok }
	if cfg.Model, err = f.String("tokenizer.ggml.model"); err != nil {
		return cfg, err
	}
	if cfg.Pre, err = f.StringOr("tokenizer.ggml.pre", ""); err != nil {
		return cfg, err
	}
	if cfg.ModelName, err = f.StringOr("general.name", ""); err != nil {
		return cfg, err
	}
	if cfg.Tokens, err = f.Strings("tokenizer.ggml.tokens"); err != nil {
		return cfg, err
	}
	if has("tokenizer.ggml.scores") {
		if cfg.Scores, err = f.Float32s("tokenizer.ggml.scores"); err != nil {
			// llama.cpp also accepts integer scores.
			ints, ierr := f.Int32s("tokenizer.ggml.scores")
			if ierr != nil {
				return cfg, err
			}
			cfg.Scores = make([]float32, len(ints))
			for i, v := range ints {
				cfg.Scores[i] = float32(v)
			}
		}
	}
	if has("tokenizer.ggml.token_type") {
		if cfg.Types, err = f.Int32s("tokenizer.ggml.token_type"); err != nil {
			return cfg, err
		}
	}
	if has("tokenizer.ggml.merges") {
		if cfg.Merges, err = f.Strings("tokenizer.ggml.merges"); err != nil {
			return cfg, err
		}
	}
	for _, name := range specialNames {
		key := "tokenizer.ggml." + name + "_token_id"
		if !has(key) {
			continue
		}
		v, err := f.Uint32(key)
		if err != nil {
			return cfg, err
		}
		if cfg.SpecialIDs == nil {
			cfg.SpecialIDs = map[string]uint32{}
		}
		cfg.SpecialIDs[name] = v
	}
	for _, b := range []struct {
		key string
		dst **bool
	}{
		{"tokenizer.ggml.add_bos_token", &cfg.AddBOS},
		{"tokenizer.ggml.add_eos_token", &cfg.AddEOS},
		{"tokenizer.ggml.add_sep_token", &cfg.AddSep},
		{"tokenizer.ggml.add_space_prefix", &cfg.AddSpacePrefix},
	} {
		if !has(b.key) {
			continue
		}
		v, err := f.Bool(b.key)
		if err != nil {
			return cfg, err
		}
		*b.dst = &v
	}
	if cfg.Model == "gpt2" && cfg.Merges == nil {
		return cfg, fmt.Errorf("%w: gguf %s: field tokenizer.ggml.merges: missing for a gpt2 tokenizer", errs.ErrInvalidModel, f.Path)
	}
	return cfg, nil
}
