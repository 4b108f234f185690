package engine

import "strings"

// stopFilter streams generated text while watching for stop strings. Text
// that could be the beginning of a stop string is held back until the next
// tokens show whether it is; text after the start of a stop string is never
// released.
type stopFilter struct {
	stops   []string
	held    string          // text not released yet
	out     strings.Builder // text released so far
	stopped bool
}

// push adds the next piece of generated text. It returns the text that is
// now safe to release and whether a stop string was found (then the text
// before it is released and the rest dropped).
func (f *stopFilter) push(piece string) (release string, stopped bool) {
	if f.stopped {
		return "", true
	}
	f.held += piece
	// A stop string can only start inside held: anything that could start
	// one was held back.
	cut := -1
	for _, s := range f.stops {
		if i := strings.Index(f.held, s); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		release = f.held[:cut]
		f.held = ""
		f.stopped = true
		f.out.WriteString(release)
		return release, true
	}
	keep := 0
	for _, s := range f.stops {
		keep = max(keep, overlap(f.held, s))
	}
	release = f.held[:len(f.held)-keep]
	f.held = f.held[len(f.held)-keep:]
	f.out.WriteString(release)
	return release, false
}

// flush releases whatever is held (generation ended for another reason).
func (f *stopFilter) flush(piece string) string {
	if f.stopped {
		return ""
	}
	rest := f.held + piece
	f.held = ""
	f.out.WriteString(rest)
	return rest
}

// text returns everything released.
func (f *stopFilter) text() string { return f.out.String() }

// overlap returns the length of the longest suffix of text that is a proper
// prefix of stop.
func overlap(text, stop string) int {
	for n := min(len(text), len(stop)-1); n > 0; n-- {
		if strings.HasSuffix(text, stop[:n]) {
			return n
		}
	}
	return 0
}
