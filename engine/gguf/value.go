package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// ValueType is the type tag of a GGUF metadata value.
type ValueType uint32

// The GGUF metadata value types.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var typeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64", "int64", "float64"}

// String returns the GGUF spec's name for the type.
func (t ValueType) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// fixedSize is the encoded size of a scalar of type t, or 0 for strings,
// arrays and unknown types.
func (t ValueType) fixedSize() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// Value is one metadata value. Scalars are decoded at load time; arrays keep
// a view of their encoded bytes and are decoded when asked for, so a file
// with a 262,144-entry vocabulary opens without building 262,144 strings.
type Value struct {
	// Type is the value's type tag.
	Type ValueType
	// ElemType is the element type when Type is TypeArray.
	ElemType ValueType
	// Len is the element count when Type is TypeArray.
	Len int

	bits uint64 // scalar payload (integers, floats, bool)
	str  string // TypeString payload
	raw  []byte // TypeArray payload: the encoded elements, validated
}

// Uint returns the value as an unsigned integer if it is an integer type
// holding a non-negative value.
func (v Value) Uint() (uint64, bool) {
	switch v.Type {
	case TypeUint8, TypeUint16, TypeUint32, TypeUint64:
		return v.bits, true
	case TypeInt8, TypeInt16, TypeInt32, TypeInt64:
		if i := int64(v.bits); i >= 0 {
			return uint64(i), true
		}
	}
	return 0, false
}

// Int returns the value as a signed integer if it is an integer type that
// fits in an int64.
func (v Value) Int() (int64, bool) {
	switch v.Type {
	case TypeInt8, TypeInt16, TypeInt32, TypeInt64:
		return int64(v.bits), true
	case TypeUint8, TypeUint16, TypeUint32, TypeUint64:
		if v.bits <= math.MaxInt64 {
			return int64(v.bits), true
		}
	}
	return 0, false
}

// Float returns the value as a float64 if it is a float32 or float64.
func (v Value) Float() (float64, bool) {
	switch v.Type {
	case TypeFloat32:
		return float64(math.Float32frombits(uint32(v.bits))), true
	case TypeFloat64:
		return math.Float64frombits(v.bits), true
	}
	return 0, false
}

// Bool returns the value if it is a bool.
func (v Value) Bool() (bool, bool) { return v.bits != 0, v.Type == TypeBool }

// Str returns the value if it is a string.
func (v Value) Str() (string, bool) { return v.str, v.Type == TypeString }

// Array decodes an array value into its elements (nested arrays included).
func (v Value) Array() ([]Value, bool) {
	if !v.isArray() {
		return nil, false
	}
	r := reader{b: v.raw}
	// Every element takes at least one byte, which bounds the allocation even
	// for a Value built by hand.
	out := make([]Value, 0, min(v.Len, len(v.raw)))
	for i := 0; i < v.Len; i++ {
		e, err := r.value(v.ElemType, 1)
		if err != nil { // only for a Value not made by the parser
			return nil, false
		}
		out = append(out, e)
	}
	return out, true
}

// Strings decodes an array of strings. All the strings share one
// allocation, so decoding a 262,144-token vocabulary costs two allocations,
// not 262,144.
func (v Value) Strings() ([]string, bool) {
	if !v.isArray() || v.ElemType != TypeString {
		return nil, false
	}
	// First pass: find the text of every string and its total length.
	total := 0
	r := reader{b: v.raw}
	for i := 0; i < v.Len; i++ {
		n, err := r.u64()
		if err != nil || n > uint64(r.remaining()) {
			return nil, false
		}
		r.off += int(n)
		total += int(n)
	}
	var sb strings.Builder
	sb.Grow(total)
	r = reader{b: v.raw}
	for i := 0; i < v.Len; i++ {
		n, _ := r.u64()
		sb.Write(r.b[r.off : r.off+int(n)])
		r.off += int(n)
	}
	all := sb.String()
	out := make([]string, v.Len)
	r, pos := reader{b: v.raw}, 0
	for i := range out {
		n, _ := r.u64()
		r.off += int(n)
		out[i] = all[pos : pos+int(n)]
		pos += int(n)
	}
	return out, true
}

// Float32s decodes an array of float32 (or float64, narrowed).
func (v Value) Float32s() ([]float32, bool) {
	if !v.isArray() || (v.ElemType != TypeFloat32 && v.ElemType != TypeFloat64) || !v.fixedFits() {
		return nil, false
	}
	out := make([]float32, v.Len)
	for i := range out {
		x, _ := v.scalarAt(i).Float()
		out[i] = float32(x)
	}
	return out, true
}

// Int32s decodes an array of integers that all fit in an int32.
func (v Value) Int32s() ([]int32, bool) {
	if !v.isArray() || !v.ElemType.isInteger() || !v.fixedFits() {
		return nil, false
	}
	out := make([]int32, v.Len)
	for i := range out {
		n, ok := v.scalarAt(i).Int()
		if !ok || n < math.MinInt32 || n > math.MaxInt32 {
			return nil, false
		}
		out[i] = int32(n)
	}
	return out, true
}

// isArray reports whether v is an array with a usable length.
func (v Value) isArray() bool { return v.Type == TypeArray && v.Len >= 0 }

// fixedFits reports whether v is an array of fixed-size elements whose
// encoded bytes hold all v.Len of them (always true for parsed values).
func (v Value) fixedFits() bool {
	size := v.ElemType.fixedSize()
	return size > 0 && v.Len <= len(v.raw)/size
}

// scalarAt decodes element i of an array of fixed-size elements.
func (v Value) scalarAt(i int) Value {
	size := v.ElemType.fixedSize()
	return scalar(v.ElemType, v.raw[i*size:])
}

// isInteger reports whether t is one of the integer types.
func (t ValueType) isInteger() bool {
	switch t {
	case TypeUint8, TypeInt8, TypeUint16, TypeInt16, TypeUint32, TypeInt32, TypeUint64, TypeInt64:
		return true
	}
	return false
}

// scalar decodes a fixed-size value of type t from the start of b.
func scalar(t ValueType, b []byte) Value {
	v := Value{Type: t}
	le := binary.LittleEndian
	switch t {
	case TypeUint8, TypeBool:
		v.bits = uint64(b[0])
	case TypeInt8:
		v.bits = uint64(int64(int8(b[0])))
	case TypeUint16:
		v.bits = uint64(le.Uint16(b))
	case TypeInt16:
		v.bits = uint64(int64(int16(le.Uint16(b))))
	case TypeUint32, TypeFloat32:
		v.bits = uint64(le.Uint32(b))
	case TypeInt32:
		v.bits = uint64(int64(int32(le.Uint32(b))))
	case TypeUint64, TypeInt64, TypeFloat64:
		v.bits = le.Uint64(b)
	}
	return v
}
