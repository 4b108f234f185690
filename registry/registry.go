package registry

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"

	"github.com/realm-ai/realm/engine"
	"github.com/realm-ai/realm/engine/errs"
)

// maxIdle is the most idle registry-owned Realms (sessions) kept per model.
const maxIdle = 2

// LoadOptions are the options of Registry.LoadFile and LoadBytes.
type LoadOptions struct {
	// Replace allows an id that is already loaded: the old model is
	// unloaded (its realms keep it until they close).
	Replace bool `json:"replace"`
	// ContextLength and Threads override the Registry's defaults when not 0.
	// The context length is the limit of the id's sessions (its Realms and
	// pooled sessions), not a property of the weights: one file loaded
	// under two ids with different context lengths is mapped once.
	ContextLength int `json:"context_length"`
	Threads       int `json:"threads"`
}

// RegistryOptions are the options of NewRegistryWith: the defaults of the
// models it loads, and an optional memory budget.
type RegistryOptions struct {
	Options
	// MemoryBudget, when not 0, bounds the bytes of model files the
	// registry's ids hold (a file loaded under several ids counts once).
	// A load that would exceed it first unloads the least recently used
	// models that nothing uses (no Realm from Registry.Realm, no request
	// in flight); when that cannot make room it fails with an error
	// wrapping errs.ErrMemoryBudget and unloads nothing.
	MemoryBudget int64 `json:"memory_budget"`
}

// Validate reports a negative field as an error wrapping errs.ErrInvalidArgument.
func (o RegistryOptions) Validate() error {
	if o.MemoryBudget < 0 {
		return fmt.Errorf("%w: options: field \"memory_budget\" = %d, want >= 0", errs.ErrInvalidArgument, o.MemoryBudget)
	}
	return o.Options.Validate()
}

// Model describes a model of a Registry.
type Model struct {
	ID     string `json:"id"`
	Info   Info   `json:"info"`
	Realms int    `json:"realms"` // live Realms created by Registry.Realm that use it
}

// Registry holds models by id. Its methods are safe for concurrent use.
type Registry struct {
	opts   Options
	budget int64 // RegistryOptions.MemoryBudget

	loadMu sync.Mutex // serialises loads when budget > 0 (check, evict, load, insert)
	mu     sync.Mutex
	closed bool
	models map[string]*entry
	clock  atomic.Int64 // ticks of entry.used
}

// entry is one id's model.
type entry struct {
	id    string
	model *sharedModel // the registry's reference, released by unload
	nCtx  int          // context length of its sessions (0: the model's default)
	used  atomic.Int64 // Registry.clock when last used (for the memory budget)

	mu       sync.Mutex
	unloaded bool
	realms   int      // live Realms from Registry.Realm
	busy     int      // registry-owned Realms taken by requests in flight
	idle     []*Realm // registry-owned Realms ready for Generate/Stream
}

// NewRegistry returns an empty Registry; o gives the defaults of the
// models it loads.
func NewRegistry(o Options) (*Registry, error) {
	return NewRegistryWith(RegistryOptions{Options: o})
}

// NewRegistryWith returns an empty Registry with the defaults and memory
// budget of o.
func NewRegistryWith(o RegistryOptions) (*Registry, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &Registry{opts: o.Options, budget: o.MemoryBudget, models: map[string]*entry{}}, nil
}

// MemoryBudget returns the registry's memory budget in bytes (0: none).
func (g *Registry) MemoryBudget() int64 { return g.budget }

func (g *Registry) loadOptions(o LoadOptions) (engine.LoadOptions, error) {
	lo := Options{Threads: o.Threads, ContextLength: o.ContextLength}
	if err := lo.Validate(); err != nil {
		return engine.LoadOptions{}, err
	}
	return g.opts.over(lo).engine(), nil
}

// touch marks e as used now.
func (g *Registry) touch(e *entry) { e.used.Store(g.clock.Add(1)) }

// check fails for a closed registry, an empty id, or an id already loaded
// (without Replace). g.mu is held.
func (g *Registry) check(id string, replace bool) error {
	if g.closed {
		return fmt.Errorf("%w: registry", errs.ErrClosed)
	}
	if id == "" {
		return fmt.Errorf("%w: empty model id", errs.ErrInvalidArgument)
	}
	if _, ok := g.models[id]; ok && !replace {
		return fmt.Errorf("%w: model id %q is already loaded (set replace to reload it)", errs.ErrInvalidArgument, id)
	}
	return nil
}

// LoadFile loads the GGUF file at path under id. A file loaded before (under
// another id, or by a Realm) with the same threads is shared, not loaded
// again, whatever the context lengths asked for.
func (g *Registry) LoadFile(id, path string, o LoadOptions) error {
	size := func(lo engine.LoadOptions) (int64, *fileKey, error) {
		k, err := statKey(path, weightOptions(lo))
		if err != nil {
			return 0, nil, err
		}
		return k.size, &k, nil
	}
	return g.load(id, o, size, func(lo engine.LoadOptions) (*sharedModel, error) { return openFile(path, lo) })
}

// LoadBytes loads a GGUF image from memory under id. The Registry takes
// ownership of data: the caller must not modify it afterwards.
func (g *Registry) LoadBytes(id string, data []byte, o LoadOptions) error {
	size := func(engine.LoadOptions) (int64, *fileKey, error) { return int64(len(data)), nil, nil }
	return g.load(id, o, size, func(lo engine.LoadOptions) (*sharedModel, error) { return openBytes(id, data, lo) })
}

// load loads a model under id: size reports the bytes it will take (and
// its file's key, nil for bytes) for the memory budget, open loads it.
func (g *Registry) load(id string, o LoadOptions, size func(engine.LoadOptions) (int64, *fileKey, error),
	open func(engine.LoadOptions) (*sharedModel, error)) error {
	lo, err := g.loadOptions(o)
	if err != nil {
		return err
	}
	nCtx := lo.ContextLength
	g.mu.Lock()
	err = g.check(id, o.Replace)
	g.mu.Unlock()
	if err != nil {
		return err
	}
	var evicted []*entry
	if g.budget > 0 {
		// One budgeted load at a time: the room made is the room used.
		g.loadMu.Lock()
		defer g.loadMu.Unlock()
		need, key, err := size(lo)
		if err != nil {
			return fmt.Errorf("registry: load %q: %w", id, err)
		}
		if evicted, err = g.makeRoom(id, need, key); err != nil {
			return err
		}
	}
	for _, e := range evicted {
		e.finishUnload()
	}
	sm, err := open(lo) // not under g.mu: loading takes a while
	if err != nil {
		return fmt.Errorf("registry: load %q: %w", id, err)
	}
	g.mu.Lock()
	if err := g.check(id, o.Replace); err != nil { // loaded concurrently
		g.mu.Unlock()
		sm.release()
		return err
	}
	old := g.models[id]
	e := &entry{id: id, model: sm, nCtx: nCtx}
	g.touch(e)
	g.models[id] = e
	g.mu.Unlock()
	if old != nil {
		old.unload()
	}
	return nil
}

// makeRoom unloads the least recently used idle models until need more
// bytes (of the file key, nil for bytes) fit the budget next to the models
// that stay, not counting the model under id (which the load replaces).
// It returns the entries it removed, whose unloading the caller finishes;
// when no choice of idle models makes room it removes nothing and fails
// with errs.ErrMemoryBudget.
func (g *Registry) makeRoom(id string, need int64, key *fileKey) ([]*entry, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, fmt.Errorf("%w: registry", errs.ErrClosed)
	}
	// The registry's footprint: each distinct model once, with the ids holding it.
	holders := map[*sharedModel][]*entry{}
	for _, e := range g.models {
		if e.id != id {
			holders[e.model] = append(holders[e.model], e)
		}
	}
	var used int64
	for sm := range holders {
		used += sm.size
		if key != nil && sm.key != nil && *sm.key == *key {
			need = 0 // the file is mapped already: loading it again is free
		}
	}
	if used+need <= g.budget {
		return nil, nil
	}
	if need > g.budget {
		return nil, fmt.Errorf("%w: loading %q needs %d bytes, the budget is %d", errs.ErrMemoryBudget, id, need, g.budget)
	}
	// Candidates: idle entries, least recently used first. An entry frees
	// its model's bytes once every id holding that model is removed.
	var idle []*entry
	for _, es := range holders {
		for _, e := range es {
			e.mu.Lock()
			free := !e.unloaded && e.realms == 0 && e.busy == 0
			e.mu.Unlock()
			if free {
				idle = append(idle, e)
			}
		}
	}
	sort.Slice(idle, func(i, j int) bool { return idle[i].used.Load() < idle[j].used.Load() })
	left := map[*sharedModel]int{}
	for sm, es := range holders {
		left[sm] = len(es)
	}
	var victims []*entry
	for _, e := range idle {
		if used+need <= g.budget {
			break
		}
		victims = append(victims, e)
		if left[e.model]--; left[e.model] == 0 {
			used -= e.model.size
		}
	}
	if used+need > g.budget {
		return nil, fmt.Errorf("%w: loading %q needs %d bytes; %d of the budget of %d are held by models in use",
			errs.ErrMemoryBudget, id, need, used, g.budget)
	}
	// Drop victims whose removal freed nothing (their model stays held).
	removed := victims[:0]
	for _, e := range victims {
		if left[e.model] == 0 {
			removed = append(removed, e)
		}
	}
	out := removed[:0]
	for _, e := range removed {
		// Still idle (claims run under g.mu, and uses only end meanwhile),
		// so this cannot fail; should it, the entry stays.
		if e.beginUnload(true) {
			delete(g.models, e.id)
			out = append(out, e)
		}
	}
	return out, nil
}

// entry returns id's entry.
func (g *Registry) entry(id string) (*entry, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, fmt.Errorf("%w: registry", errs.ErrClosed)
	}
	e, ok := g.models[id]
	if !ok {
		return nil, fmt.Errorf("%w: model id %q is not loaded", errs.ErrNotFound, id)
	}
	return e, nil
}

// Unload removes id. Realms using its weights keep them; the weights are
// freed when the last of them closes. Requests in flight finish.
func (g *Registry) Unload(id string) error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return fmt.Errorf("%w: registry", errs.ErrClosed)
	}
	e, ok := g.models[id]
	delete(g.models, id)
	g.mu.Unlock()
	if !ok {
		return fmt.Errorf("%w: model id %q is not loaded", errs.ErrNotFound, id)
	}
	e.unload()
	return nil
}

// Has reports whether id is loaded.
func (g *Registry) Has(id string) bool {
	_, err := g.entry(id)
	return err == nil
}

// Models lists the models, sorted by id.
func (g *Registry) Models() ([]Model, error) {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil, fmt.Errorf("%w: registry", errs.ErrClosed)
	}
	entries := make([]*entry, 0, len(g.models))
	for _, e := range g.models {
		entries = append(entries, e)
	}
	g.mu.Unlock()
	sort.Slice(entries, func(i, j int) bool { return entries[i].id < entries[j].id })
	out := make([]Model, len(entries))
	for i, e := range entries {
		e.mu.Lock()
		out[i] = Model{ID: e.id, Info: e.model.info(e.nCtx), Realms: e.realms}
		e.mu.Unlock()
	}
	return out, nil
}

// Info describes id's model.
func (g *Registry) Info(id string) (Info, error) {
	e, err := g.entry(id)
	if err != nil {
		return Info{}, err
	}
	return e.model.info(e.nCtx), nil
}

// Realm returns a new Realm using id's weights, with its own session and
// an instance of guest (the zero Guest: the default guest). It stays valid
// after Unload and Close; loading another model into it makes it stop
// counting as one of id's realms.
func (g *Registry) Realm(id string, guest Guest) (*Realm, error) {
	e, _, err := g.claim(id, true)
	if err != nil {
		return nil, err
	}
	var once sync.Once
	return newBound(e.model, e.nCtx, func() {
		once.Do(func() {
			e.mu.Lock()
			e.realms--
			e.mu.Unlock()
		})
	}, guest)
}

// Generate runs req on id's model (see Realm.Generate), on a
// registry-owned session.
func (g *Registry) Generate(ctx context.Context, id string, req Request) ([]*engine.Result, error) {
	e, r, err := g.take(id)
	if err != nil {
		return nil, err
	}
	defer e.put(r)
	return r.Generate(ctx, req)
}

// Stream starts req on id's model (see Realm.Stream), on a registry-owned
// session.
func (g *Registry) Stream(ctx context.Context, id string, req Request) (*Stream, error) {
	e, r, err := g.take(id)
	if err != nil {
		return nil, err
	}
	s, err := r.stream(ctx, req, func() { e.put(r) })
	if err != nil {
		e.put(r)
		return nil, err
	}
	return s, nil
}

// Close unloads every model. Realms created by Realm stay valid; requests
// in flight finish. Later calls fail with errs.ErrClosed; Close itself is
// idempotent.
func (g *Registry) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	entries := g.models
	g.models = nil
	g.mu.Unlock()
	for _, e := range entries {
		e.unload()
	}
	return nil
}

// claim marks id's model as used, by a new Realm (forRealm: one more
// realm, and a model reference for it) or by a request (one more busy
// session: an idle registry-owned Realm it returns, or nil and a model
// reference for a new one). It runs under g.mu, like makeRoom, so a model
// chosen for eviction cannot be claimed meanwhile.
func (g *Registry) claim(id string, forRealm bool) (*entry, *Realm, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil, nil, fmt.Errorf("%w: registry", errs.ErrClosed)
	}
	e, ok := g.models[id]
	if !ok {
		return nil, nil, fmt.Errorf("%w: model id %q is not loaded", errs.ErrNotFound, id)
	}
	g.touch(e)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.unloaded {
		return nil, nil, fmt.Errorf("%w: model id %q is not loaded", errs.ErrNotFound, id)
	}
	if forRealm {
		e.realms++
		e.model.acquire()
		return e, nil, nil
	}
	e.busy++
	if n := len(e.idle); n > 0 {
		r := e.idle[n-1]
		e.idle = e.idle[:n-1]
		return e, r, nil
	}
	e.model.acquire()
	return e, nil, nil
}

// take returns id's entry and an idle registry-owned Realm of it, or a new
// one; the caller returns it with e.put.
func (g *Registry) take(id string) (*entry, *Realm, error) {
	e, r, err := g.claim(id, false)
	if err != nil || r != nil {
		return e, r, err
	}
	r, err = newBound(e.model, e.nCtx, nil, Guest{})
	if err != nil {
		e.mu.Lock()
		e.busy--
		e.mu.Unlock()
		return nil, nil, err
	}
	return e, r, nil
}

// put returns a Realm taken with Registry.take: it is kept for reuse, or closed if
// the pool is full or the model unloaded.
func (e *entry) put(r *Realm) {
	e.mu.Lock()
	e.busy--
	if !e.unloaded && len(e.idle) < maxIdle {
		e.idle = append(e.idle, r)
		e.mu.Unlock()
		return
	}
	e.mu.Unlock()
	r.Close()
}

// unload releases the registry's reference and its idle Realms.
func (e *entry) unload() {
	if e.beginUnload(false) {
		e.finishUnload()
	}
}

// beginUnload marks e unloaded (new Realms and requests fail) unless it
// was already, or unless onlyIdle and a Realm or a request uses it; it
// reports whether it did. finishUnload then releases its resources.
func (e *entry) beginUnload(onlyIdle bool) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.unloaded || onlyIdle && (e.realms > 0 || e.busy > 0) {
		return false
	}
	e.unloaded = true
	return true
}

// finishUnload closes the idle Realms of an entry marked unloaded and
// releases the registry's reference to its model: the weights are freed
// unless Realms or requests in flight still hold them (then the last of
// them frees them).
func (e *entry) finishUnload() {
	e.mu.Lock()
	idle := e.idle
	e.idle = nil
	e.mu.Unlock()
	for _, r := range idle {
		r.Close()
	}
	e.model.release()
}
