// Package registry manages named models and the tenants (Realms) that use
// them. It sits between the C ABI (package capi) and the engine and knows
// nothing of C.
//
// A Realm is one tenant: it holds a reference to a loaded engine.Model,
// its own engine.Session (its own KV cache) and its own instance of a
// WebAssembly guest (package sandbox) that chooses every generated token:
// the default guest (the native sampler chain compiled to WebAssembly,
// same tokens) or one the caller supplies. Calls on one Realm are
// serialised; calls on different Realms run in parallel.
//
// Loaded models are shared and reference counted process-wide: loading
// the same file twice (under two registry ids, into two standalone Realms,
// or both) with the same thread count maps it once, whatever the context
// lengths asked for: the context length is a property of each session
// (engine.SessionOptions), so each id and each Realm has its own limit on
// the same weights. A file is identified by its absolute path, device,
// inode, size and modification time, so a file replaced on disk is loaded
// afresh. The weights are freed when the last holder (a registry id or a
// Realm) releases them. Models loaded from bytes are not deduplicated.
//
// Unloading an id that Realms still use is deferred, not refused:
// Registry.Unload removes the id at once (it can be loaded again, and new
// Realm, Generate and Stream calls on it fail with errs.ErrNotFound), the
// Realms created from it keep working, requests in flight finish, and the
// weights are freed when the last of them lets go. Loading with Replace
// and Registry.Close unload the same way.
//
// A Realm costs little until it is used: its KV cache and scratch memory
// are allocated on its first forward pass and grow with use; an idle one
// holds its guest instance (about 106 KiB of linear memory, mostly never
// touched) and a few hundred bytes more. 1,000 idle Realms on SmolLM2-135M
// add 30-90 MiB of resident memory.
//
// A Registry maps ids to models. Registry.Realm(id) creates a Realm
// sharing the id's weights. Registry.Generate and Registry.Stream run on a
// small pool of registry-owned Realms per model: concurrent requests run in
// parallel, each on its own session, and sequential requests reuse a
// pooled session (and so the KV cache of a common prompt prefix).
//
// A Registry may have a memory budget (RegistryOptions.MemoryBudget): the
// bytes of model files its ids hold, a file shared by several ids counted
// once. A load that would exceed it unloads the least recently used models
// that no Realm and no request in flight uses; if that cannot make room,
// the load fails with an error wrapping errs.ErrMemoryBudget and unloads
// nothing.
//
// Requests and options arrive as JSON (see ParseRequest and Decode);
// malformed JSON, unknown fields and out-of-range values are errors
// wrapping errs.ErrInvalidArgument that name the field.
package registry
