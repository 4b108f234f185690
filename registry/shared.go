package registry

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"syscall"

	"github.com/realm-ai/realm/engine"
	"github.com/realm-ai/realm/engine/errs"
)

// fileKey identifies a model file and the options it was loaded with: the
// same key means the same bytes on disk and an interchangeable Model. path
// is absolute with symbolic links resolved. The options never hold a
// context length (see weightOptions): it is a property of each session, so
// loads asking for different context lengths share the weights.
type fileKey struct {
	path  string
	dev   uint64
	ino   uint64
	size  int64
	mtime int64
	opts  engine.LoadOptions
}

// sharedModel is a loaded model and the number of holders using it.
type sharedModel struct {
	key   *fileKey // nil for a model loaded from bytes
	model *engine.Model
	size  int64 // bytes of the GGUF image

	ready chan struct{} // closed when loading ended (model or err set)
	err   error
	refs  int // guarded by cacheMu
}

var (
	cacheMu sync.Mutex
	cache   = map[fileKey]*sharedModel{}
)

// weightOptions returns the options that shape the Model itself: o
// without its context length, which each holder applies to its own
// sessions (engine.SessionOptions).
func weightOptions(o engine.LoadOptions) engine.LoadOptions {
	o.ContextLength = 0
	return o
}

// statKey returns the key of the file at path.
func statKey(path string, o engine.LoadOptions) (fileKey, error) {
	if path == "" {
		return fileKey{}, fmt.Errorf("%w: empty model path", errs.ErrInvalidArgument)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fileKey{}, fmt.Errorf("%w: model path %q: %v", errs.ErrInvalidArgument, path, err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	st, err := os.Stat(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fileKey{}, fmt.Errorf("%w: model file %s: %v", errs.ErrNotFound, path, err)
		}
		return fileKey{}, fmt.Errorf("%w: model file %s: %v", errs.ErrInvalidModel, path, err)
	}
	if st.IsDir() {
		return fileKey{}, fmt.Errorf("%w: model file %s is a directory", errs.ErrInvalidModel, path)
	}
	k := fileKey{path: abs, size: st.Size(), mtime: st.ModTime().UnixNano(), opts: o}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		k.dev, k.ino = uint64(sys.Dev), uint64(sys.Ino)
	}
	return k, nil
}

// openFile returns the shared model of the file at path, loading it unless
// a model of the same file and options is loaded (or being loaded). The
// caller holds one reference and must release it.
func openFile(path string, o engine.LoadOptions) (*sharedModel, error) {
	o = weightOptions(o)
	k, err := statKey(path, o)
	if err != nil {
		return nil, err
	}
	for {
		cacheMu.Lock()
		sm, ok := cache[k]
		if !ok {
			sm = &sharedModel{key: &k, size: k.size, ready: make(chan struct{}), refs: 1}
			cache[k] = sm
			cacheMu.Unlock()
			sm.model, sm.err = engine.LoadFile(path, o)
			cacheMu.Lock()
			if sm.err != nil {
				delete(cache, k)
			}
			close(sm.ready)
			cacheMu.Unlock()
			if sm.err != nil {
				return nil, sm.err
			}
			return sm, nil
		}
		sm.refs++
		cacheMu.Unlock()
		<-sm.ready
		if sm.err == nil {
			return sm, nil
		}
		// That load failed (and removed itself from the cache): load again
		// ourselves, so the error is ours and reflects the file now.
		cacheMu.Lock()
		sm.refs--
		cacheMu.Unlock()
	}
}

// openBytes loads a model from data, which it takes ownership of.
func openBytes(name string, data []byte, o engine.LoadOptions) (*sharedModel, error) {
	m, err := engine.LoadBytes(name, data, weightOptions(o))
	if err != nil {
		return nil, err
	}
	sm := &sharedModel{model: m, size: int64(len(data)), ready: make(chan struct{}), refs: 1}
	close(sm.ready)
	return sm, nil
}

// acquire adds a reference.
func (sm *sharedModel) acquire() {
	cacheMu.Lock()
	sm.refs++
	cacheMu.Unlock()
}

// release drops a reference; the last one closes the model and, for a
// large model, returns its memory to the operating system at once.
func (sm *sharedModel) release() {
	cacheMu.Lock()
	sm.refs--
	last := sm.refs == 0
	if last && sm.key != nil && cache[*sm.key] == sm {
		delete(cache, *sm.key)
	}
	cacheMu.Unlock()
	if last {
		sm.model.Close()
		if sm.size >= freeOSMemoryAbove {
			// The weights' packed copies live in the Go heap: without a
			// collection now they would stay resident until the heap next
			// grows to its goal, which a process that just unloaded its
			// largest model may not do for minutes.
			debug.FreeOSMemory()
		}
	}
}

// freeOSMemoryAbove is the model size from which unloading runs a garbage
// collection and returns the freed memory to the operating system (a few
// milliseconds, worth it for the tens of megabytes or more it frees).
const freeOSMemoryAbove = 16 << 20

// info describes the shared model as used with sessions of nCtx tokens
// (0: the model's default context).
func (sm *sharedModel) info(nCtx int) Info {
	in := newInfo(sm.model.Info(), sm.size)
	if nCtx > 0 {
		in.Ctx = nCtx
	}
	return in
}

// newSession returns a session on the model with a context of nCtx tokens
// (0: the model's default).
func (sm *sharedModel) newSession(nCtx int) (*engine.Session, error) {
	return sm.model.NewSessionWith(engine.SessionOptions{ContextLength: nCtx})
}

// loadedFiles reports how many distinct files are loaded (for tests).
func loadedFiles() int {
	cacheMu.Lock()
	defer cacheMu.Unlock()
	return len(cache)
}
