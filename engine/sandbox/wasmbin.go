package sandbox

import (
	"bytes"
	"errors"
	"fmt"
)

// This file is a structural pass over a module's binary before wazero sees
// it. wazero sizes some allocations from counts read in the binary before
// checking them against the bytes present (a 40-byte module declaring 2^32
// globals or locals, or a code entry claiming 4 GiB, would make it allocate
// gigabytes, which is fatal to the whole process), and a table without a
// maximum lets table.grow allocate up to 32 GiB. So every vector count is
// checked against the bytes that remain, locals and tables are capped, and
// custom sections (names, debug info: unused by the host) are removed.

// Caps on what a guest may declare.
const (
	// maxLocals is the most locals one function may declare (V8's limit).
	maxLocals = 50000
	// maxTableElements is the most elements a table may ever hold; every
	// table must declare a maximum within it.
	maxTableElements = 65536
)

// wasmImport is one entry of a module's import section.
type wasmImport struct {
	module, name string
	kind         byte // 0 func, 1 table, 2 memory, 3 global, 4 tag
}

// wasmInfo is what the host checks before handing bytes to wazero.
type wasmInfo struct {
	imports   []wasmImport
	hasMemory bool
	memMin    uint64
	memMax    uint64
	hasMax    bool
	// stripped is the module without its custom sections.
	stripped []byte
}

var wasmMagic = []byte{0, 'a', 's', 'm', 1, 0, 0, 0}

var errTruncated = errors.New("unexpected end")

// wasmReader reads the binary format's primitives, never past its end.
type wasmReader struct {
	b   []byte
	off int
}

func (r *wasmReader) left() int { return len(r.b) - r.off }

func (r *wasmReader) byte() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errTruncated
	}
	c := r.b[r.off]
	r.off++
	return c, nil
}

// uleb reads an unsigned LEB128 number of at most bits bits.
func (r *wasmReader) uleb(bits uint) (uint64, error) {
	var v uint64
	for shift := uint(0); ; shift += 7 {
		if shift >= bits+7 {
			return 0, errors.New("LEB128 number too long")
		}
		c, err := r.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, nil
		}
	}
}

// u32 reads a u32 index or size.
func (r *wasmReader) u32() (uint64, error) { return r.uleb(32) }

// count reads a vector length and checks that many items of at least
// minSize bytes each can follow.
func (r *wasmReader) count(what string, minSize int) (uint64, error) {
	n, err := r.u32()
	if err != nil {
		return 0, fmt.Errorf("%s count: %w", what, err)
	}
	if n*uint64(minSize) > uint64(r.left()) {
		return 0, fmt.Errorf("%s count %d exceeds the %d bytes left", what, n, r.left())
	}
	return n, nil
}

// skipLEB skips a (signed or unsigned) LEB128 number of at most 10 bytes.
func (r *wasmReader) skipLEB() error {
	for i := 0; i < 10; i++ {
		c, err := r.byte()
		if err != nil {
			return err
		}
		if c&0x80 == 0 {
			return nil
		}
	}
	return errors.New("LEB128 number too long")
}

func (r *wasmReader) bytes(n uint64) ([]byte, error) {
	if n > uint64(r.left()) {
		return nil, errTruncated
	}
	s := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return s, nil
}

func (r *wasmReader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	s, err := r.bytes(n)
	return string(s), err
}

// limits reads a limits structure (memory or table).
func (r *wasmReader) limits() (lo, hi uint64, hasMax bool, err error) {
	flags, err := r.byte()
	if err != nil {
		return 0, 0, false, err
	}
	bits := uint(32)
	if flags&4 != 0 { // memory64
		bits = 64
	}
	if lo, err = r.uleb(bits); err != nil {
		return 0, 0, false, err
	}
	if flags&1 != 0 {
		hi, err = r.uleb(bits)
		hasMax = true
	}
	return lo, hi, hasMax, err
}

// valType reads a value type of WebAssembly 2.0 (all one byte).
func (r *wasmReader) valType() error {
	c, err := r.byte()
	if err != nil {
		return err
	}
	switch c {
	case 0x7f, 0x7e, 0x7d, 0x7c, 0x7b, 0x70, 0x6f: // i32 i64 f32 f64 v128 funcref externref
		return nil
	}
	return fmt.Errorf("unsupported value type %#x", c)
}

// constExpr skips a constant expression up to and including its end.
func (r *wasmReader) constExpr() error {
	for {
		op, err := r.byte()
		if err != nil {
			return err
		}
		switch op {
		case 0x0b: // end
			return nil
		case 0x41, 0x42, 0x23, 0xd2: // i32.const, i64.const, global.get, ref.func
			err = r.skipLEB()
		case 0x43: // f32.const
			_, err = r.bytes(4)
		case 0x44: // f64.const
			_, err = r.bytes(8)
		case 0xd0: // ref.null t
			_, err = r.byte()
		case 0x6a, 0x6b, 0x6c, 0x7c, 0x7d, 0x7e: // extended-const arithmetic
		case 0xfd: // v128.const
			var sub uint64
			if sub, err = r.u32(); err == nil {
				if sub != 12 {
					return fmt.Errorf("unsupported constant instruction 0xfd %d", sub)
				}
				_, err = r.bytes(16)
			}
		default:
			return fmt.Errorf("unsupported constant instruction %#x", op)
		}
		if err != nil {
			return err
		}
	}
}

// isWasm reports whether b starts like a WebAssembly 1.0 binary module.
func isWasm(b []byte) bool { return bytes.HasPrefix(b, wasmMagic) }

// parseWasm checks the structure of a binary module as described above and
// returns what the host needs to know. wazero validates the rest.
func parseWasm(b []byte) (*wasmInfo, error) {
	if !isWasm(b) {
		return nil, errors.New("not a WebAssembly binary module (bad magic or version)")
	}
	info := &wasmInfo{stripped: append(make([]byte, 0, len(b)), wasmMagic...)}
	r := &wasmReader{b: b, off: len(wasmMagic)}
	for r.left() > 0 {
		start := r.off
		id, _ := r.byte()
		size, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("section %d size: %w", id, err)
		}
		body, err := r.bytes(size)
		if err != nil {
			return nil, fmt.Errorf("section %d: size %d exceeds the %d bytes left", id, size, r.left())
		}
		if id == 0 {
			continue // custom section: dropped
		}
		sr := &wasmReader{b: body}
		if err := info.section(id, sr); err != nil {
			return nil, fmt.Errorf("%s section: %w", sectionName(id), err)
		}
		if sr.left() != 0 {
			return nil, fmt.Errorf("%s section: %d bytes after its content", sectionName(id), sr.left())
		}
		info.stripped = append(info.stripped, b[start:r.off]...)
	}
	return info, nil
}

func sectionName(id byte) string {
	names := []string{"custom", "type", "import", "function", "table", "memory", "global",
		"export", "start", "element", "code", "data", "data count", "tag"}
	if int(id) < len(names) {
		return names[id]
	}
	return fmt.Sprintf("unknown (%d)", id)
}

// section checks one non-custom section.
func (info *wasmInfo) section(id byte, r *wasmReader) error {
	switch id {
	case 1:
		return eachOf(r, "type", 3, func(int) error {
			if form, err := r.byte(); err != nil || form != 0x60 {
				return fmt.Errorf("unsupported type form (want a function type)")
			}
			for range 2 { // parameters, results
				n, err := r.count("value type", 1)
				if err != nil {
					return err
				}
				for range n {
					if err := r.valType(); err != nil {
						return err
					}
				}
			}
			return nil
		})
	case 2:
		return info.readImports(r)
	case 3:
		return eachOf(r, "function", 1, func(int) error { return r.skipLEB() })
	case 4:
		return eachOf(r, "table", 3, func(i int) error { return readTable(r, i) })
	case 5:
		return eachOf(r, "memory", 2, func(int) error {
			lo, hi, hasMax, err := r.limits()
			if err == nil && !info.hasMemory {
				info.hasMemory, info.memMin, info.memMax, info.hasMax = true, lo, hi, hasMax
			}
			return err
		})
	case 6:
		return eachOf(r, "global", 3, func(int) error {
			if err := r.valType(); err != nil {
				return err
			}
			if _, err := r.byte(); err != nil {
				return err
			}
			return r.constExpr()
		})
	case 7:
		return eachOf(r, "export", 3, func(int) error {
			if _, err := r.name(); err != nil {
				return err
			}
			if _, err := r.byte(); err != nil {
				return err
			}
			return r.skipLEB()
		})
	case 8, 12: // start function index, data count
		return r.skipLEB()
	case 9:
		return eachOf(r, "element segment", 2, func(int) error { return readElement(r) })
	case 10:
		return eachOf(r, "function body", 2, func(i int) error { return readCode(r, i) })
	case 11:
		return eachOf(r, "data segment", 2, func(int) error { return readData(r) })
	}
	return fmt.Errorf("not supported")
}

// eachOf reads a vector whose items take at least minSize bytes.
func eachOf(r *wasmReader, what string, minSize int, item func(i int) error) error {
	n, err := r.count(what, minSize)
	if err != nil {
		return err
	}
	for i := range int(n) {
		if err := item(i); err != nil {
			return fmt.Errorf("%s %d: %w", what, i, err)
		}
	}
	return nil
}

func (info *wasmInfo) readImports(r *wasmReader) error {
	return eachOf(r, "import", 4, func(i int) error {
		var imp wasmImport
		var err error
		if imp.module, err = r.name(); err != nil {
			return err
		}
		if imp.name, err = r.name(); err != nil {
			return err
		}
		if imp.kind, err = r.byte(); err != nil {
			return err
		}
		switch imp.kind {
		case 0: // function type index
			err = r.skipLEB()
		case 1: // table: reference type + limits
			if _, err = r.byte(); err == nil {
				_, _, _, err = r.limits()
			}
		case 2:
			_, _, _, err = r.limits()
		case 3: // global: value type + mutability
			if _, err = r.byte(); err == nil {
				_, err = r.byte()
			}
		case 4: // tag: attribute + type index
			if _, err = r.byte(); err == nil {
				err = r.skipLEB()
			}
		default:
			return fmt.Errorf("unknown import kind %#x", imp.kind)
		}
		if err != nil {
			return err
		}
		info.imports = append(info.imports, imp)
		return nil
	})
}

// readTable reads a table type (with an optional initialiser) and caps it.
func readTable(r *wasmReader, i int) error {
	c, err := r.byte()
	if err != nil {
		return err
	}
	withInit := c == 0x40
	if withInit {
		if z, err := r.byte(); err != nil || z != 0 {
			return errors.New("bad table initialiser prefix")
		}
		if c, err = r.byte(); err != nil {
			return err
		}
	}
	if c != 0x70 && c != 0x6f {
		return fmt.Errorf("unsupported table element type %#x", c)
	}
	lo, hi, hasMax, err := r.limits()
	if err != nil {
		return err
	}
	switch {
	case !hasMax:
		return &limitError{fmt.Sprintf("table %d declares no maximum: tables must declare one of at most %d elements", i, maxTableElements)}
	case lo > maxTableElements || hi > maxTableElements:
		return &limitError{fmt.Sprintf("table %d declares %d..%d elements, the cap is %d", i, lo, hi, maxTableElements)}
	}
	if withInit {
		return r.constExpr()
	}
	return nil
}

// limitError marks a module refused for the resources it declares.
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }

// readElement reads an element segment (all eight encodings).
func readElement(r *wasmReader) error {
	flags, err := r.u32()
	if err != nil {
		return err
	}
	if flags > 7 {
		return fmt.Errorf("unknown element segment flags %d", flags)
	}
	if flags&2 != 0 && flags&1 == 0 { // explicit table index
		if err := r.skipLEB(); err != nil {
			return err
		}
	}
	if flags&1 == 0 { // active: offset expression
		if err := r.constExpr(); err != nil {
			return err
		}
	}
	if flags&3 != 0 { // element kind or reference type
		if _, err := r.byte(); err != nil {
			return err
		}
	}
	if flags&4 == 0 { // function indices
		return eachOf(r, "function index", 1, func(int) error { return r.skipLEB() })
	}
	return eachOf(r, "element expression", 1, func(int) error { return r.constExpr() })
}

// readCode reads a function body: its size and its local declarations.
func readCode(r *wasmReader, i int) error {
	size, err := r.u32()
	if err != nil {
		return err
	}
	body, err := r.bytes(size)
	if err != nil {
		return fmt.Errorf("size %d exceeds the %d bytes left", size, r.left())
	}
	br := &wasmReader{b: body}
	total := uint64(0)
	err = eachOf(br, "local declaration", 2, func(int) error {
		n, err := br.u32()
		if err != nil {
			return err
		}
		total += n
		if total > maxLocals {
			return &limitError{fmt.Sprintf("function body %d declares more than %d locals", i, maxLocals)}
		}
		return br.valType()
	})
	if err != nil {
		return err
	}
	if br.left() == 0 {
		return errors.New("empty body")
	}
	return nil
}

// readData reads a data segment.
func readData(r *wasmReader) error {
	flags, err := r.u32()
	if err != nil {
		return err
	}
	switch flags {
	case 0:
		err = r.constExpr()
	case 1:
	case 2:
		if err = r.skipLEB(); err == nil {
			err = r.constExpr()
		}
	default:
		return fmt.Errorf("unknown data segment flags %d", flags)
	}
	if err != nil {
		return err
	}
	n, err := r.u32()
	if err != nil {
		return err
	}
	if _, err := r.bytes(n); err != nil {
		return fmt.Errorf("%d bytes of data exceed the %d bytes left", n, r.left())
	}
	return nil
}

// kindName names an import kind.
func kindName(k byte) string {
	switch k {
	case 0:
		return "function"
	case 1:
		return "table"
	case 2:
		return "memory"
	case 3:
		return "global"
	case 4:
		return "tag"
	}
	return fmt.Sprintf("kind %#x", k)
}
