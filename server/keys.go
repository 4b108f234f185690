package server

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/registry"
)

// Tenant is one client of the server: the API keys that name it share its
// Realms (one per model, each with its own KV cache and guest instance).
type Tenant struct {
	// Name identifies the tenant in logs.
	Name string
	// Guest is the sandbox guest of the tenant's Realms (the zero Guest:
	// the default guest).
	Guest registry.Guest
	// GuestPath is the file Guest.Wasm was read from ("" for the default).
	GuestPath string
}

// Keys maps API keys to tenants. Keys are stored as SHA-256 digests, so a
// lookup does not compare the secret byte by byte.
type Keys struct {
	byDigest map[[32]byte]*Tenant
	tenants  []*Tenant
}

// NewKeys returns Keys mapping each key of keys to its tenant; keys naming
// the same tenant must agree on its guest. An empty key or tenant name is
// an error wrapping errs.ErrInvalidArgument.
func NewKeys(keys map[string]Tenant) (*Keys, error) {
	k := &Keys{byDigest: map[[32]byte]*Tenant{}}
	byName := map[string]*Tenant{}
	for key, t := range keys {
		if err := k.add(byName, key, t); err != nil {
			return nil, err
		}
	}
	return k, nil
}

func (k *Keys) add(byName map[string]*Tenant, key string, t Tenant) error {
	if key == "" || t.Name == "" {
		return fmt.Errorf("%w: api keys: empty key or tenant name", errs.ErrInvalidArgument)
	}
	d := sha256.Sum256([]byte(key))
	if _, dup := k.byDigest[d]; dup {
		return fmt.Errorf("%w: api keys: a key is listed twice", errs.ErrInvalidArgument)
	}
	known, ok := byName[t.Name]
	if !ok {
		tt := t
		known = &tt
		byName[t.Name] = known
		k.tenants = append(k.tenants, known)
	} else if known.GuestPath != t.GuestPath || !bytes.Equal(known.Guest.Wasm, t.Guest.Wasm) {
		return fmt.Errorf("%w: api keys: tenant %q is given two different guests", errs.ErrInvalidArgument, t.Name)
	}
	k.byDigest[d] = known
	return nil
}

// Lookup returns the tenant of key, or nil.
func (k *Keys) Lookup(key string) *Tenant {
	return k.byDigest[sha256.Sum256([]byte(key))]
}

// Tenants returns the number of distinct tenants.
func (k *Keys) Tenants() int { return len(k.tenants) }

// LoadKeys reads an API key file. Each line is
//
//	KEY TENANT [GUEST.wasm]
//
// separated by spaces or tabs: a client sending "Authorization: Bearer
// KEY" is TENANT; several keys may name one tenant (to rotate keys). The
// optional third field is a WebAssembly guest module (docs/guest-abi.md)
// that chooses every token of the tenant's Realms, instead of the default
// guest; a relative path is relative to the key file's directory. Blank
// lines and lines starting with '#' are ignored. Malformed lines are
// errors wrapping errs.ErrInvalidArgument that give the line number; a
// guest that cannot be read wraps errs.ErrNotFound.
func LoadKeys(path string) (*Keys, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: api key file: %v", errs.ErrNotFound, err)
	}
	k := &Keys{byDigest: map[[32]byte]*Tenant{}}
	byName := map[string]*Tenant{}
	guests := map[string][]byte{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 || len(f) > 3 {
			return nil, fmt.Errorf("%w: api key file %s:%d: want \"KEY TENANT [GUEST.wasm]\", got %d fields",
				errs.ErrInvalidArgument, path, n, len(f))
		}
		t := Tenant{Name: f[1]}
		if len(f) == 3 {
			g := f[2]
			if !filepath.IsAbs(g) {
				g = filepath.Join(filepath.Dir(path), g)
			}
			wasm, ok := guests[g]
			if !ok {
				wasm, err = os.ReadFile(g)
				if err != nil {
					return nil, fmt.Errorf("%w: api key file %s:%d: guest: %v", errs.ErrNotFound, path, n, err)
				}
				guests[g] = wasm
			}
			t.Guest, t.GuestPath = registry.Guest{Wasm: wasm}, g
		}
		if err := k.add(byName, f[0], t); err != nil {
			return nil, fmt.Errorf("api key file %s:%d: %w", path, n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: api key file %s: %v", errs.ErrInvalidArgument, path, err)
	}
	if len(k.byDigest) == 0 {
		return nil, fmt.Errorf("%w: api key file %s lists no key", errs.ErrInvalidArgument, path)
	}
	return k, nil
}
