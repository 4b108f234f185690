package main

import (
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

var (
	libOnce sync.Once
	libDir  string
	libErr  error
	libOut  []byte
)

// buildLib builds librealm.so once per test run, into a temporary directory.
func buildLib(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the shared library")
	}
	libOnce.Do(func() {
		libDir, libErr = os.MkdirTemp("", "realm-capi-test-")
		if libErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-buildmode=c-shared", "-o", filepath.Join(libDir, "librealm.so"), ".")
		libOut, libErr = cmd.CombinedOutput()
	})
	require.NoError(t, libErr, "go build -buildmode=c-shared:\n%s", libOut)
	return libDir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if libDir != "" {
		os.RemoveAll(libDir)
	}
	os.Exit(code)
}

// cdef returns the text between realm.h's CDEF markers.
func cdef(t *testing.T) string {
	t.Helper()
	h, err := os.ReadFile("realm.h")
	require.NoError(t, err)
	text := string(h)
	begin := strings.Index(text, "/* BEGIN CDEF */")
	end := strings.Index(text, "/* END CDEF */")
	require.True(t, begin >= 0 && end > begin, "realm.h lacks the CDEF markers")
	return text[begin+len("/* BEGIN CDEF */") : end]
}

var declRE = regexp.MustCompile(`(?m)^[a-z][a-z_ *]*?\b(realm_[a-z_]+)\s*\(`)

// declared returns the functions declared in the CDEF block.
func declared(t *testing.T) []string {
	var names []string
	for _, m := range declRE.FindAllStringSubmatch(cdef(t), -1) {
		names = append(names, m[1])
	}
	sort.Strings(names)
	return names
}

func TestCDEFBlockIsCFFIFriendly(t *testing.T) {
	block := cdef(t)
	for i, line := range strings.Split(block, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") {
			require.Regexp(t, `^#define [A-Z_][A-Z0-9_]* -?\d+\b`, trimmed,
				"CDEF line %d: cffi accepts only integer #defines", i)
		}
	}
	require.Len(t, declared(t), 32)
}

func TestLibraryExportsEveryDeclaredFunction(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads ELF symbols")
	}
	dir := buildLib(t)
	f, err := elf.Open(filepath.Join(dir, "librealm.so"))
	require.NoError(t, err)
	defer f.Close()
	syms, err := f.DynamicSymbols()
	require.NoError(t, err)
	exported := map[string]bool{}
	var realmSyms []string
	for _, s := range syms {
		if elf.ST_TYPE(s.Info) == elf.STT_FUNC && s.Section != elf.SHN_UNDEF {
			exported[s.Name] = true
			if strings.HasPrefix(s.Name, "realm_") {
				realmSyms = append(realmSyms, s.Name)
			}
		}
	}
	want := declared(t)
	for _, name := range want {
		require.True(t, exported[name], "%s is declared in realm.h but not exported", name)
	}
	sort.Strings(realmSyms)
	require.Equal(t, want, realmSyms, "the library exports realm_ functions realm.h does not declare")

	// The header cgo generates declares the same functions.
	gen, err := os.ReadFile(filepath.Join(dir, "librealm.h"))
	require.NoError(t, err)
	for _, name := range want {
		require.Contains(t, string(gen), " "+name+"(")
	}
}
