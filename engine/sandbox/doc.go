// Package sandbox runs a Realm's token-selection policy as a WebAssembly
// guest under wazero, isolated from the host and from other Realms.
//
// The host (the engine) computes: the forward pass, the repetition
// penalty, the best candidates of each step (package sample's host stage).
// The guest decides: which token comes next or whether to stop. The
// contract between them is the versioned guest ABI of docs/guest-abi.md:
// a guest imports only module "realm" (token_piece, logits, config, log)
// and exports realm_abi_version, realm_alloc, realm_begin, realm_step and
// its memory. No WASI: no files, network, environment or clock.
//
//	h := sandbox.NewHost(sandbox.Config{})
//	defer h.Close(ctx)
//	mod, err := h.DefaultModule()            // or h.Compile(userWasm)
//	inst, err := mod.Instantiate(ctx, vocab, nil)
//	err = inst.Begin(ctx, params, prompt)    // once per request
//	id, stop, err := inst.Step(cands, logits) // once per token
//	inst.End()
//
// A Host holds one wazero runtime; it compiles each distinct module (by
// SHA-256 of its bytes) once, and every Instance of it is a separate
// module instance with its own linear memory, capped at
// Config.MemoryLimitPages. Each request has a budget of guest time
// (Config.Deadline) enforced by wazero's close-on-context-done; the
// caller's context cancels a request likewise.
//
// Every failure of a guest (bytes that are not WebAssembly, a forbidden
// import, a missing or mistyped export, another ABI version, a trap, the
// memory cap, the deadline, an invalid result) is an *Error wrapping
// errs.ErrSandbox whose Kind and message name the cause. The failed
// instance is discarded and re-instantiated on its next Begin; other
// instances are not affected.
//
// The default guest (guest/default/policy.c, embedded as default.wasm) is
// the native sampler chain compiled to WebAssembly: for the same seed it
// gives the same tokens as sample.Chain.
package sandbox
