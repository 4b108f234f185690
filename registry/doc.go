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
// or both) with the same load options maps it once. A file is identified
// by its absolute path, device, inode, size and modification time, so a
// file replaced on disk is loaded afresh. The weights are freed when the
// last holder (a registry id or a Realm) releases them. Models loaded from
// bytes are not deduplicated.
//
// A Registry maps ids to models. Registry.Realm(id) creates a Realm
// sharing the id's weights. Registry.Generate and Registry.Stream run on a
// small pool of registry-owned Realms per model: concurrent requests run in
// parallel, each on its own session, and sequential requests reuse a
// pooled session (and so the KV cache of a common prompt prefix).
//
// Requests and options arrive as JSON (see ParseRequest and Decode);
// malformed JSON, unknown fields and out-of-range values are errors
// wrapping errs.ErrInvalidArgument that name the field.
package registry
