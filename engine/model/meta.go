package model

import (
	"fmt"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/engine/gguf"
)

// meta reads an architecture's hyperparameters ("<arch>.<key>") from GGUF
// metadata, keeping the first error so loaders read as plain lists.
type meta struct {
	f    *gguf.File
	arch string
	err  error
}

func (m *meta) key(k string) string { return m.arch + "." + k }

// integer reads a required unsigned integer.
func (m *meta) integer(k string) int {
	if m.err != nil {
		return 0
	}
	v, err := m.f.Uint32(m.key(k))
	m.err = err
	return int(v)
}

// integerOr reads an optional unsigned integer.
func (m *meta) integerOr(k string, def int) int {
	if m.err != nil {
		return def
	}
	v, err := m.f.Uint32Or(m.key(k), uint32(def))
	m.err = err
	return int(v)
}

// floatOr reads an optional float.
func (m *meta) floatOr(k string, def float32) float32 {
	if m.err != nil {
		return def
	}
	v, err := m.f.Float32Or(m.key(k), def)
	m.err = err
	return v
}

// float reads a required float.
func (m *meta) float(k string) float32 {
	if m.err != nil {
		return 0
	}
	v, err := m.f.Float32(m.key(k))
	m.err = err
	return v
}

// stringOr reads an optional string.
func (m *meta) stringOr(k, def string) string {
	if m.err != nil {
		return def
	}
	v, err := m.f.StringOr(m.key(k), def)
	m.err = err
	return v
}

// check records an invalid-model error unless ok.
func (m *meta) check(ok bool, format string, args ...any) {
	if m.err == nil && !ok {
		m.err = fmt.Errorf("%w: %s: %s: %s", errs.ErrInvalidModel, m.f.Path, m.arch, fmt.Sprintf(format, args...))
	}
}

// ropeScale returns ggml's freq_scale from the rope scaling metadata:
// 1 for none, 1/factor for linear scaling. Other kinds (YaRN, LongRoPE) are
// not implemented.
func (m *meta) ropeScale() float32 {
	kind := m.stringOr("rope.scaling.type", "")
	factor := m.floatOr("rope.scaling.factor", 0)
	if kind == "" {
		// Older files give only a linear factor.
		factor = m.floatOr("rope.scale_linear", 0)
		if factor != 0 {
			kind = "linear"
		}
	}
	switch kind {
	case "", "none":
		return 1
	case "linear":
		if factor == 0 {
			return 1
		}
		m.check(factor > 0, "rope scaling factor %v", factor)
		return 1 / factor
	default:
		if m.err == nil {
			m.err = fmt.Errorf("%w: %s: rope scaling %q", errs.ErrUnsupportedModel, m.f.Path, kind)
		}
		return 1
	}
}
