package sandbox

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/tetratelabs/wazero/api"
)

// instanceKey is the context key under which a call into a guest carries
// its *Instance, so the shared host functions know whom they serve.
type instanceKey struct{}

// instantiateImports registers module "realm" with the runtime.
func (h *Host) instantiateImports(ctx context.Context) error {
	b := h.rt.NewHostModuleBuilder(ImportModule)
	add := func(name string, fn func(in *Instance, mem api.Memory, stack []uint64)) {
		sig := importSigs[name]
		b.NewFunctionBuilder().
			WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
				in, _ := ctx.Value(instanceKey{}).(*Instance)
				if in == nil {
					panic(fmt.Errorf("realm.%s called outside a Realm request", name))
				}
				fn(in, mod.Memory(), stack)
			}), sig.params, sig.results).
			Export(name)
	}
	add("token_piece", (*Instance).importTokenPiece)
	add("logits", (*Instance).importLogits)
	add("config", (*Instance).importConfig)
	add("log", (*Instance).importLog)
	_, err := b.Instantiate(ctx)
	return err
}

// fault records that the guest passed the host something the ABI forbids
// and aborts the guest's call (wazero turns the panic into an error, which
// the instance then reports as this *Error).
func (in *Instance) fault(op, format string, a ...any) {
	e := &Error{Kind: KindBadResult, Module: in.mod.id, Op: op, Detail: fmt.Sprintf(format, a...)}
	in.faultErr = e
	panic(e)
}

// guestRange returns the guest memory [ptr, ptr+n) or faults.
func (in *Instance) guestRange(op string, mem api.Memory, ptr, n uint32) []byte {
	if mem == nil {
		in.fault(op, "the module has no memory")
	}
	b, ok := mem.Read(ptr, n)
	if !ok {
		in.fault(op, "range [%#x, %#x) is outside guest memory (%d bytes)", ptr, uint64(ptr)+uint64(n), mem.Size())
	}
	return b
}

// token_piece(id, out_ptr, out_cap) -> len | -1
func (in *Instance) importTokenPiece(mem api.Memory, stack []uint64) {
	id, out, capacity := int32(stack[0]), uint32(stack[1]), int32(stack[2])
	if capacity < 0 {
		in.fault("realm.token_piece", "negative out_cap %d", capacity)
	}
	if id < 0 || int(id) >= in.nVocab {
		stack[0] = api.EncodeI32(-1)
		return
	}
	piece := in.vocab.Piece(id)
	if len(piece) <= int(capacity) {
		copy(in.guestRange("realm.token_piece", mem, out, uint32(len(piece))), piece)
	}
	stack[0] = api.EncodeI32(int32(len(piece)))
}

// logits(ids_ptr, n, out_ptr) -> n | -1
func (in *Instance) importLogits(mem api.Memory, stack []uint64) {
	idsPtr, n, out := uint32(stack[0]), int32(stack[1]), uint32(stack[2])
	if n < 0 || int(n) > in.nVocab {
		in.fault("realm.logits", "n = %d, want 0 <= n <= n_vocab (%d)", n, in.nVocab)
	}
	ids := in.guestRange("realm.logits", mem, idsPtr, uint32(n)*4)
	dst := in.guestRange("realm.logits", mem, out, uint32(n)*4)
	logits := in.logits
	if logits == nil {
		stack[0] = api.EncodeI32(-1)
		return
	}
	le := binary.LittleEndian
	for i := range int(n) {
		if id := int32(le.Uint32(ids[4*i:])); id < 0 || int(id) >= len(logits) {
			stack[0] = api.EncodeI32(-1)
			return
		}
	}
	for i := range int(n) {
		id := le.Uint32(ids[4*i:])
		le.PutUint32(dst[4*i:], math.Float32bits(logits[id]))
	}
	stack[0] = api.EncodeI32(n)
}

// config(out_ptr, out_cap) -> len
func (in *Instance) importConfig(mem api.Memory, stack []uint64) {
	out, capacity := uint32(stack[0]), int32(stack[1])
	if capacity < 0 {
		in.fault("realm.config", "negative out_cap %d", capacity)
	}
	if len(in.config) <= int(capacity) {
		copy(in.guestRange("realm.config", mem, out, uint32(len(in.config))), in.config)
	}
	stack[0] = api.EncodeI32(int32(len(in.config)))
}

// log(ptr, len)
func (in *Instance) importLog(mem api.Memory, stack []uint64) {
	ptr, n := uint32(stack[0]), int32(stack[1])
	if n < 0 {
		in.fault("realm.log", "negative length %d", n)
	}
	if in.logLines >= maxLogLines {
		return
	}
	in.logLines++
	line := string(in.guestRange("realm.log", mem, ptr, uint32(min(n, maxLogLine))))
	in.lastLog = line
	if in.mod.host.cfg.Log != nil {
		in.mod.host.cfg.Log(in.mod.id, line)
	}
}
