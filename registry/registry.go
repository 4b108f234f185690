package registry

import (
	"context"
	"fmt"
	"sort"
	"sync"

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
	ContextLength int `json:"context_length"`
	Threads       int `json:"threads"`
}

// Model describes a model of a Registry.
type Model struct {
	ID     string `json:"id"`
	Info   Info   `json:"info"`
	Realms int    `json:"realms"` // live Realms created by Registry.Realm that use it
}

// Registry holds models by id. Its methods are safe for concurrent use.
type Registry struct {
	opts Options

	mu     sync.Mutex
	closed bool
	models map[string]*entry
}

// entry is one id's model.
type entry struct {
	id    string
	model *sharedModel // the registry's reference, released by unload

	mu       sync.Mutex
	unloaded bool
	realms   int      // live Realms from Registry.Realm
	idle     []*Realm // registry-owned Realms ready for Generate/Stream
}

// NewRegistry returns an empty Registry; o gives the defaults of the
// models it loads.
func NewRegistry(o Options) (*Registry, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	return &Registry{opts: o, models: map[string]*entry{}}, nil
}

func (g *Registry) loadOptions(o LoadOptions) (engine.LoadOptions, error) {
	lo := Options{Threads: o.Threads, ContextLength: o.ContextLength}
	if err := lo.Validate(); err != nil {
		return engine.LoadOptions{}, err
	}
	return g.opts.over(lo).engine(), nil
}

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
// another id, or by a Realm) with the same options is shared, not loaded
// again.
func (g *Registry) LoadFile(id, path string, o LoadOptions) error {
	return g.load(id, o, func(lo engine.LoadOptions) (*sharedModel, error) { return openFile(path, lo) })
}

// LoadBytes loads a GGUF image from memory under id. The Registry takes
// ownership of data: the caller must not modify it afterwards.
func (g *Registry) LoadBytes(id string, data []byte, o LoadOptions) error {
	return g.load(id, o, func(lo engine.LoadOptions) (*sharedModel, error) { return openBytes(id, data, lo) })
}

func (g *Registry) load(id string, o LoadOptions, open func(engine.LoadOptions) (*sharedModel, error)) error {
	lo, err := g.loadOptions(o)
	if err != nil {
		return err
	}
	g.mu.Lock()
	err = g.check(id, o.Replace)
	g.mu.Unlock()
	if err != nil {
		return err
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
	g.models[id] = &entry{id: id, model: sm}
	g.mu.Unlock()
	if old != nil {
		old.unload()
	}
	return nil
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
		out[i] = Model{ID: e.id, Info: e.model.info(), Realms: e.realms}
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
	return e.model.info(), nil
}

// Realm returns a new Realm using id's weights, with its own session and
// an instance of guest (the zero Guest: the default guest). It stays valid
// after Unload and Close; loading another model into it makes it stop
// counting as one of id's realms.
func (g *Registry) Realm(id string, guest Guest) (*Realm, error) {
	e, err := g.entry(id)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	if e.unloaded {
		e.mu.Unlock()
		return nil, fmt.Errorf("%w: model id %q is not loaded", errs.ErrNotFound, id)
	}
	e.model.acquire()
	e.realms++
	e.mu.Unlock()
	var once sync.Once
	return newBound(e.model, func() {
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
	e, err := g.entry(id)
	if err != nil {
		return nil, err
	}
	r, err := e.take()
	if err != nil {
		return nil, err
	}
	defer e.put(r)
	return r.Generate(ctx, req)
}

// Stream starts req on id's model (see Realm.Stream), on a registry-owned
// session.
func (g *Registry) Stream(ctx context.Context, id string, req Request) (*Stream, error) {
	e, err := g.entry(id)
	if err != nil {
		return nil, err
	}
	r, err := e.take()
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

// take returns an idle registry-owned Realm, or a new one.
func (e *entry) take() (*Realm, error) {
	e.mu.Lock()
	if e.unloaded {
		e.mu.Unlock()
		return nil, fmt.Errorf("%w: model id %q is not loaded", errs.ErrNotFound, e.id)
	}
	if n := len(e.idle); n > 0 {
		r := e.idle[n-1]
		e.idle = e.idle[:n-1]
		e.mu.Unlock()
		return r, nil
	}
	e.model.acquire()
	e.mu.Unlock()
	return newBound(e.model, nil, Guest{})
}

// put returns a Realm taken with take: it is kept for reuse, or closed if
// the pool is full or the model unloaded.
func (e *entry) put(r *Realm) {
	e.mu.Lock()
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
	e.mu.Lock()
	if e.unloaded {
		e.mu.Unlock()
		return
	}
	e.unloaded = true
	idle := e.idle
	e.idle = nil
	e.mu.Unlock()
	for _, r := range idle {
		r.Close()
	}
	e.model.release()
}
