package sandbox

import (
	"encoding/binary"
	"math"

	"github.com/realm-ai/realm/engine/sample"
	"github.com/tetratelabs/wazero/api"
)

// ABIVersion is the guest ABI version this host speaks (docs/guest-abi.md).
const ABIVersion = 1

// ImportModule is the only module a guest may import from.
const ImportModule = "realm"

// StopToken is what realm_step returns to end generation.
const StopToken = -1

// Values of realm_alloc's kind argument.
const (
	allocCandidates = 0 // once per instance: MaxCandidates*candidateSize bytes
	allocRequest    = 1 // before each request: the request block
)

const (
	// paramsSize is the request block's header size in ABI version 1.
	paramsSize = 48
	// candidateSize is the size of one candidate in guest memory.
	candidateSize = 8
	// maxLogLine is the longest debug line kept; longer ones are cut.
	maxLogLine = 1024
	// maxLogLines is the most debug lines kept per request.
	maxLogLines = 64
)

// signature is a function type of the ABI.
type signature struct {
	params, results []api.ValueType
}

var (
	i32 = api.ValueTypeI32
	// imports the host offers in module "realm".
	importSigs = map[string]signature{
		"token_piece": {[]api.ValueType{i32, i32, i32}, []api.ValueType{i32}},
		"logits":      {[]api.ValueType{i32, i32, i32}, []api.ValueType{i32}},
		"config":      {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
		"log":         {[]api.ValueType{i32, i32}, nil},
	}
	// exports a guest must provide (besides its memory).
	exportSigs = map[string]signature{
		"realm_abi_version": {nil, []api.ValueType{i32}},
		"realm_alloc":       {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
		"realm_begin":       {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
		"realm_step":        {[]api.ValueType{i32, i32}, []api.ValueType{i32}},
	}
	exportOrder = []string{"realm_abi_version", "realm_alloc", "realm_begin", "realm_step"}
)

// LogMinP is the log_min_p field of the request block: ln(min_p) rounded
// to float32, computed exactly as sample.Chain computes its min_p cutoff,
// so that guests need no logarithm of their own.
func LogMinP(minP float32) float32 {
	return float32(math.Log(float64(minP)))
}

// encodeRequest writes the request block for p, vocabulary size nVocab and
// prompt into dst, which must hold paramsSize+4*len(prompt) bytes.
func encodeRequest(dst []byte, p sample.Params, nVocab int, prompt []int32) {
	le := binary.LittleEndian
	le.PutUint32(dst[0:], paramsSize)
	le.PutUint32(dst[4:], uint32(int32(nVocab)))
	le.PutUint32(dst[8:], math.Float32bits(p.Temperature))
	le.PutUint32(dst[12:], uint32(clamp32(p.TopK)))
	le.PutUint32(dst[16:], math.Float32bits(p.TopP))
	le.PutUint32(dst[20:], math.Float32bits(p.MinP))
	le.PutUint32(dst[24:], math.Float32bits(LogMinP(p.MinP)))
	le.PutUint32(dst[28:], math.Float32bits(p.RepeatPenalty))
	le.PutUint32(dst[32:], uint32(clamp32(p.RepeatLastN)))
	le.PutUint32(dst[36:], uint32(int32(len(prompt))))
	le.PutUint64(dst[40:], p.Seed)
	for i, id := range prompt {
		le.PutUint32(dst[paramsSize+4*i:], uint32(id))
	}
}

// clamp32 converts n to int32, saturating.
func clamp32(n int) int32 {
	return int32(max(math.MinInt32, min(math.MaxInt32, n)))
}
