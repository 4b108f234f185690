package gguf

import (
	"encoding/binary"
	"fmt"
)

// reader decodes little-endian GGUF fields from a byte slice, checking every
// length against the bytes that remain.
type reader struct {
	b   []byte
	off int
}

func (r *reader) remaining() int { return len(r.b) - r.off }

func (r *reader) bytes(n uint64) ([]byte, error) {
	if n > uint64(r.remaining()) {
		return nil, fmt.Errorf("needs %d bytes at offset %d, only %d remain", n, r.off, r.remaining())
	}
	s := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return s, nil
}

func (r *reader) u32() (uint32, error) {
	b, err := r.bytes(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (r *reader) u64() (uint64, error) {
	b, err := r.bytes(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (r *reader) str() (string, error) {
	n, err := r.u64()
	if err != nil {
		return "", fmt.Errorf("string length: %w", err)
	}
	b, err := r.bytes(n)
	if err != nil {
		return "", fmt.Errorf("string of %d bytes: %w", n, err)
	}
	return string(b), nil
}

// skipStr validates a string in place without allocating it.
func (r *reader) skipStr() error {
	n, err := r.u64()
	if err != nil {
		return fmt.Errorf("string length: %w", err)
	}
	b, err := r.bytes(n)
	if err != nil {
		return fmt.Errorf("string of %d bytes: %w", n, err)
	}
	_ = b // strings are kept as raw bytes: real vocabularies hold invalid UTF-8
	return nil
}

// value decodes a value of type t. Arrays are validated and kept encoded.
func (r *reader) value(t ValueType, depth int) (Value, error) {
	if size := t.fixedSize(); size > 0 {
		b, err := r.bytes(uint64(size))
		if err != nil {
			return Value{}, fmt.Errorf("%s value: %w", t, err)
		}
		v := scalar(t, b)
		if t == TypeBool && v.bits > 1 {
			return Value{}, fmt.Errorf("bool value %d is not 0 or 1", v.bits)
		}
		return v, nil
	}
	switch t {
	case TypeString:
		s, err := r.str()
		if err != nil {
			return Value{}, err
		}
		return Value{Type: TypeString, str: s}, nil
	case TypeArray:
		if depth >= maxNesting {
			return Value{}, fmt.Errorf("arrays nested deeper than %d", maxNesting)
		}
		et, err := r.u32()
		if err != nil {
			return Value{}, fmt.Errorf("array element type: %w", err)
		}
		n, err := r.u64()
		if err != nil {
			return Value{}, fmt.Errorf("array length: %w", err)
		}
		elem := ValueType(et)
		start := r.off
		if size := elem.fixedSize(); size > 0 {
			if n > uint64(r.remaining())/uint64(size) {
				return Value{}, fmt.Errorf("array of %d %s cannot fit in %d bytes", n, elem, r.remaining())
			}
			if elem == TypeBool {
				for _, c := range r.b[r.off : r.off+int(n)] {
					if c > 1 {
						return Value{}, fmt.Errorf("bool array element %d is not 0 or 1", c)
					}
				}
			}
			r.off += int(n) * size
		} else {
			// Strings need at least 8 bytes each, arrays at least 12.
			if elem != TypeString && elem != TypeArray {
				return Value{}, fmt.Errorf("array element type %d is unknown", et)
			}
			if n > uint64(r.remaining())/8 {
				return Value{}, fmt.Errorf("array of %d %s cannot fit in %d bytes", n, elem, r.remaining())
			}
			for i := uint64(0); i < n; i++ {
				if elem == TypeString {
					if err := r.skipStr(); err != nil {
						return Value{}, fmt.Errorf("array element %d: %w", i, err)
					}
				} else if _, err := r.value(TypeArray, depth+1); err != nil {
					return Value{}, fmt.Errorf("array element %d: %w", i, err)
				}
			}
		}
		return Value{Type: TypeArray, ElemType: elem, Len: int(n), raw: r.b[start:r.off]}, nil
	}
	return Value{}, fmt.Errorf("unknown value type %d", uint32(t))
}
