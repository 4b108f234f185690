package gguf

import (
	"fmt"
	"math"

	"github.com/realm-ai/realm/engine/errs"
)

// missing and wrongType build the typed errors of the getters.
func (f *File) missing(key string) error {
	return fmt.Errorf("%w: gguf %s: metadata key %s is missing", errs.ErrInvalidModel, f.Path, key)
}

func (f *File) wrongType(key string, v Value, want string) error {
	got := v.Type.String()
	if v.Type == TypeArray {
		got = "array of " + v.ElemType.String()
	}
	return fmt.Errorf("%w: gguf %s: metadata key %s is %s, want %s", errs.ErrInvalidModel, f.Path, key, got, want)
}

// String returns a string value; a missing key or another type is an error.
func (f *File) String(key string) (string, error) {
	v, ok := f.Get(key)
	if !ok {
		return "", f.missing(key)
	}
	s, ok := v.Str()
	if !ok {
		return "", f.wrongType(key, v, "string")
	}
	return s, nil
}

// Uint32 returns an integer value of any integer type that fits in a uint32.
func (f *File) Uint32(key string) (uint32, error) {
	v, ok := f.Get(key)
	if !ok {
		return 0, f.missing(key)
	}
	n, ok := v.Uint()
	if !ok || n > math.MaxUint32 {
		return 0, f.wrongType(key, v, "an integer in uint32 range")
	}
	return uint32(n), nil
}

// Float32 returns a float32 or float64 value as float32.
func (f *File) Float32(key string) (float32, error) {
	v, ok := f.Get(key)
	if !ok {
		return 0, f.missing(key)
	}
	x, ok := v.Float()
	if !ok {
		return 0, f.wrongType(key, v, "float32")
	}
	return float32(x), nil
}

// Bool returns a bool value.
func (f *File) Bool(key string) (bool, error) {
	v, ok := f.Get(key)
	if !ok {
		return false, f.missing(key)
	}
	b, ok := v.Bool()
	if !ok {
		return false, f.wrongType(key, v, "bool")
	}
	return b, nil
}

// Strings returns an array of strings.
func (f *File) Strings(key string) ([]string, error) {
	v, ok := f.Get(key)
	if !ok {
		return nil, f.missing(key)
	}
	s, ok := v.Strings()
	if !ok {
		return nil, f.wrongType(key, v, "array of string")
	}
	return s, nil
}

// Float32s returns an array of floats as float32.
func (f *File) Float32s(key string) ([]float32, error) {
	v, ok := f.Get(key)
	if !ok {
		return nil, f.missing(key)
	}
	s, ok := v.Float32s()
	if !ok {
		return nil, f.wrongType(key, v, "array of float32")
	}
	return s, nil
}

// Int32s returns an array of integers that fit in int32.
func (f *File) Int32s(key string) ([]int32, error) {
	v, ok := f.Get(key)
	if !ok {
		return nil, f.missing(key)
	}
	s, ok := v.Int32s()
	if !ok {
		return nil, f.wrongType(key, v, "array of int32")
	}
	return s, nil
}

// StringOr is String with a default for an absent key.
func (f *File) StringOr(key, def string) (string, error) {
	if _, ok := f.Get(key); !ok {
		return def, nil
	}
	return f.String(key)
}

// Uint32Or is Uint32 with a default for an absent key.
func (f *File) Uint32Or(key string, def uint32) (uint32, error) {
	if _, ok := f.Get(key); !ok {
		return def, nil
	}
	return f.Uint32(key)
}

// Float32Or is Float32 with a default for an absent key.
func (f *File) Float32Or(key string, def float32) (float32, error) {
	if _, ok := f.Get(key); !ok {
		return def, nil
	}
	return f.Float32(key)
}

// BoolOr is Bool with a default for an absent key.
func (f *File) BoolOr(key string, def bool) (bool, error) {
	if _, ok := f.Get(key); !ok {
		return def, nil
	}
	return f.Bool(key)
}
