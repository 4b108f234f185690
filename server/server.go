package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/realm-ai/realm/engine"
	"github.com/realm-ai/realm/engine/errs"
	"github.com/realm-ai/realm/registry"
)

// Defaults of Options.
const (
	// DefaultMaxBodyBytes caps a request body (1 MiB).
	DefaultMaxBodyBytes = 1 << 20
	// DefaultShutdownTimeout bounds how long Shutdown lets requests in
	// flight finish before it cancels them.
	DefaultShutdownTimeout = 10 * time.Second
	// cancelGrace is how long Shutdown waits, after cancelling the
	// requests still in flight, for them to end (a generation stops within
	// a token) before it closes their connections.
	cancelGrace = 5 * time.Second
)

// Options configure a Server.
type Options struct {
	// Keys maps API keys to tenants; nil turns authentication off: every
	// request then runs on the registry's shared pool of sessions.
	Keys *Keys
	// MaxBodyBytes caps request bodies (0: DefaultMaxBodyBytes); a larger
	// body is answered 413.
	MaxBodyBytes int64
	// ShutdownTimeout bounds how long Shutdown waits for requests in
	// flight before cancelling them (0: DefaultShutdownTimeout).
	ShutdownTimeout time.Duration
	// Log receives the server's messages (nil: discarded); LogRequests
	// adds a line per request.
	Log         *log.Logger
	LogRequests bool
}

// Server is an OpenAI-compatible HTTP server over a registry.Registry. It
// is an http.Handler; Serve and Shutdown run it on a listener.
//
// Endpoints: POST /v1/chat/completions, POST /v1/completions (both with
// "stream": true for server-sent events), GET /v1/models, GET /health and
// GET /metrics (Prometheus text format). With Keys, the /v1 endpoints need
// "Authorization: Bearer KEY", and each tenant generates on its own Realm
// per model (created on first use, with the tenant's guest); without, they
// run on the registry's pool.
type Server struct {
	reg     *registry.Registry
	opts    Options
	metrics *metrics
	started time.Time
	mux     *http.ServeMux

	base     context.Context // parent of every request's context
	cancel   context.CancelFunc
	draining atomic.Bool
	httpSrv  *http.Server

	mu      sync.Mutex
	tenants map[*Tenant]map[string]*tenantRealm // tenant → model id → realm
}

// tenantRealm is a tenant's Realm for one model; sem (capacity 1) queues
// the tenant's requests in a way a cancelled client can leave.
type tenantRealm struct {
	realm *registry.Realm
	sem   chan struct{}
}

// New returns a Server answering with reg's models. The caller keeps
// ownership of reg (close it after Shutdown).
func New(reg *registry.Registry, o Options) *Server {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.Log == nil {
		o.Log = log.New(io.Discard, "", 0)
	}
	s := &Server{
		reg: reg, opts: o, metrics: newMetrics(), started: time.Now(),
		tenants: map[*Tenant]map[string]*tenantRealm{},
	}
	s.base, s.cancel = context.WithCancel(context.Background())
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("POST /v1/chat/completions", s.completions(true))
	s.mux.HandleFunc("POST /v1/completions", s.completions(false))
	s.mux.HandleFunc("GET /v1/models", s.models)
	s.mux.HandleFunc("GET /v1/models/{model}", s.model)
	s.mux.HandleFunc("GET /health", s.health)
	s.mux.HandleFunc("GET /metrics", s.metricsPage)
	s.httpSrv = &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return s.base },
		ErrorLog:          o.Log,
	}
	return s
}

// endpoints are the paths metrics are kept by; others count as "other".
var endpoints = map[string]bool{
	"/v1/chat/completions": true, "/v1/completions": true, "/v1/models": true,
	"/health": true, "/metrics": true,
}

// statusWriter records the status code of a response.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush sends buffered data to the client.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ServeHTTP routes a request, counting it in the metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	endpoint := r.URL.Path
	switch {
	case endpoints[endpoint]:
	case strings.HasPrefix(endpoint, "/v1/models/"):
		endpoint = "/v1/models/{model}"
	default:
		endpoint = "other"
	}
	start := time.Now()
	done := s.metrics.begin(endpoint)
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		done(sw.status)
		if s.opts.LogRequests {
			s.opts.Log.Printf("%s %s %d %.1f ms", r.Method, r.URL.Path, sw.status, float64(time.Since(start).Microseconds())/1000)
		}
	}()
	if _, pattern := s.mux.Handler(r); pattern == "" {
		// Unknown path or method: the OpenAI error shape, not the mux's text.
		if endpoints[r.URL.Path] {
			writeError(sw, &apiError{status: 405, msg: fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path), typ: "invalid_request_error"})
		} else {
			writeError(sw, &apiError{status: 404, msg: fmt.Sprintf("no route %s %s", r.Method, r.URL.Path), typ: "invalid_request_error", code: "unknown_url"})
		}
		return
	}
	s.mux.ServeHTTP(sw, r)
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		data = []byte(`{"error":{"message":"encode response","type":"server_error","param":null,"code":null}}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}

func writeError(w http.ResponseWriter, e *apiError) {
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="realm"`)
	}
	writeJSON(w, e.status, e.body())
}

// tenant authenticates r: nil with auth off, else the key's tenant or a
// 401.
func (s *Server) tenant(r *http.Request) (*Tenant, *apiError) {
	if s.opts.Keys == nil {
		return nil, nil
	}
	auth := r.Header.Get("Authorization")
	scheme, key, _ := strings.Cut(auth, " ")
	key = strings.TrimSpace(key)
	if !strings.EqualFold(scheme, "Bearer") || key == "" {
		return nil, &apiError{status: 401, msg: "You didn't provide an API key: send \"Authorization: Bearer KEY\".",
			typ: "invalid_request_error", code: "invalid_api_key"}
	}
	t := s.opts.Keys.Lookup(key)
	if t == nil {
		return nil, &apiError{status: 401, msg: "Incorrect API key provided.", typ: "invalid_request_error", code: "invalid_api_key"}
	}
	return t, nil
}

// health answers load balancer probes: 200 while serving, 503 while
// shutting down (so the balancer drains the replica).
func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "shutting_down"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) metricsPage(w http.ResponseWriter, _ *http.Request) {
	realms := map[string]int{}
	if models, err := s.reg.Models(); err == nil {
		for _, m := range models {
			realms[m.ID] = m.Realms
		}
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_ = s.metrics.write(w, realms, s.draining.Load())
}

// modelObject is an entry of GET /v1/models.
type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

func (s *Server) models(w http.ResponseWriter, r *http.Request) {
	if _, e := s.tenant(r); e != nil {
		writeError(w, e)
		return
	}
	models, err := s.reg.Models()
	if err != nil {
		writeError(w, toAPIError(err))
		return
	}
	data := make([]modelObject, len(models))
	for i, m := range models {
		data[i] = modelObject{ID: m.ID, Object: "model", Created: s.started.Unix(), OwnedBy: "realm"}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

// model answers GET /v1/models/{model}.
func (s *Server) model(w http.ResponseWriter, r *http.Request) {
	if _, e := s.tenant(r); e != nil {
		writeError(w, e)
		return
	}
	id := r.PathValue("model")
	if !s.reg.Has(id) {
		writeError(w, &apiError{status: 404, msg: fmt.Sprintf("The model `%s` does not exist.", id),
			typ: "invalid_request_error", param: "model", code: "model_not_found"})
		return
	}
	writeJSON(w, http.StatusOK, modelObject{ID: id, Object: "model", Created: s.started.Unix(), OwnedBy: "realm"})
}

// bodyTimeout bounds the time to receive a request body. The server sets
// no ReadTimeout: net/http would then cancel the context of a long stream
// whose connection's read deadline passed.
const bodyTimeout = 30 * time.Second

// readBody reads a request body of at most MaxBodyBytes.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *apiError) {
	if r.ContentLength > s.opts.MaxBodyBytes {
		return nil, s.tooLarge()
	}
	rc := http.NewResponseController(w)
	if rc.SetReadDeadline(time.Now().Add(bodyTimeout)) == nil {
		defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, s.tooLarge()
		}
		return nil, badParam("", "read the request body: %v", err)
	}
	return body, nil
}

func (s *Server) tooLarge() *apiError {
	return &apiError{status: http.StatusRequestEntityTooLarge,
		msg: fmt.Sprintf("the request body exceeds %d bytes", s.opts.MaxBodyBytes), typ: "invalid_request_error", code: "request_too_large"}
}

// target runs generations for one request: the tenant's Realm for the
// model, or the registry's pool.
type target struct {
	stream  func(ctx context.Context, req registry.Request) (*registry.Stream, error)
	release func()
}

// target returns where t's requests on model run; with a tenant it waits
// (as long as ctx allows) for the tenant's earlier request on the model.
func (s *Server) target(ctx context.Context, t *Tenant, model string) (*target, error) {
	if t == nil {
		return &target{
			stream: func(ctx context.Context, req registry.Request) (*registry.Stream, error) {
				return s.reg.Stream(ctx, model, req)
			},
			release: func() {},
		}, nil
	}
	tr, err := s.tenantRealm(t, model)
	if err != nil {
		return nil, err
	}
	select {
	case tr.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for tenant %q's realm: %w", t.Name, context.Cause(ctx))
	}
	return &target{stream: tr.realm.Stream, release: func() { <-tr.sem }}, nil
}

// tenantRealm returns t's Realm for model, creating it on first use.
func (s *Server) tenantRealm(t *Tenant, model string) (*tenantRealm, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining.Load() {
		return nil, &apiError{status: 503, msg: "the server is shutting down", typ: "server_error", code: "unavailable"}
	}
	byModel := s.tenants[t]
	if byModel == nil {
		byModel = map[string]*tenantRealm{}
		s.tenants[t] = byModel
	}
	if tr := byModel[model]; tr != nil {
		return tr, nil
	}
	r, err := s.reg.Realm(model, t.Guest)
	if err != nil {
		return nil, fmt.Errorf("tenant %q: %w", t.Name, err)
	}
	tr := &tenantRealm{realm: r, sem: make(chan struct{}, 1)}
	byModel[model] = tr
	return tr, nil
}

// newID returns an OpenAI-style id: prefix and 24 random hex digits.
func newID(prefix string) string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return prefix + hex.EncodeToString(b[:])
}

// completions handles /v1/chat/completions (chat) or /v1/completions.
func (s *Server) completions(chat bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		t, e := s.tenant(r)
		if e != nil {
			writeError(w, e)
			return
		}
		body, e := s.readBody(w, r)
		if e != nil {
			writeError(w, e)
			return
		}
		p, err := parseAPIRequest(body, chat)
		if err != nil {
			writeError(w, toAPIError(err))
			return
		}
		if !s.reg.Has(p.model) {
			writeError(w, &apiError{status: 404, msg: fmt.Sprintf("The model `%s` does not exist.", p.model),
				typ: "invalid_request_error", param: "model", code: "model_not_found"})
			return
		}
		ctx := r.Context()
		tg, err := s.target(ctx, t, p.model)
		if err != nil {
			writeError(w, s.failure(ctx, err, chat))
			return
		}
		defer tg.release()
		c := &completion{s: s, w: w, p: p, chat: chat, start: start, created: time.Now().Unix()}
		if chat {
			c.id, c.object = newID("chatcmpl-"), "chat.completion"
		} else {
			c.id, c.object = newID("cmpl-"), "text_completion"
		}
		if p.stream {
			c.stream(ctx, tg)
		} else {
			c.whole(ctx, tg)
		}
	}
}

// statusClientClosed is nginx's status for a client that left before the
// answer (seen only in metrics and logs).
const statusClientClosed = 499

// failure maps a generation error to the OpenAI shape; cancellation by
// shutdown is a 503, by the client leaving a 499.
func (s *Server) failure(ctx context.Context, err error, chat bool) *apiError {
	if ctx.Err() != nil {
		if s.base.Err() != nil {
			return &apiError{status: 503, msg: "the server is shutting down", typ: "server_error", code: "unavailable"}
		}
		return &apiError{status: statusClientClosed, msg: "the client closed the request", typ: "invalid_request_error"}
	}
	e := toAPIError(err)
	if e.code == "context_length_exceeded" && !chat {
		e.param = "prompt"
	}
	return e
}

// completion is one completion request being answered.
type completion struct {
	s          *Server
	w          http.ResponseWriter
	p          *parsed
	chat       bool
	start      time.Time
	id, object string
	created    int64
	gotFirst   bool // the first token was timed
}

// choice returns the choice of a whole response or a chunk: text is the
// (delta) text, or nil for none.
func (c *completion) choice(text *string, finish *string, chunk bool) choice {
	ch := choice{FinishReason: finish}
	switch {
	case !c.chat:
		if text == nil {
			empty := ""
			text = &empty
		}
		ch.Text = text
	case chunk:
		ch.Delta = &chatMessage{Content: text}
	default:
		if text == nil {
			empty := ""
			text = &empty
		}
		ch.Message = &chatMessage{Role: "assistant", Content: text}
	}
	return ch
}

// whole answers a non-streaming request. It runs on a stream too, to
// time the first token.
func (c *completion) whole(ctx context.Context, tg *target) {
	st, err := tg.stream(ctx, c.p.req)
	if err != nil {
		writeError(c.w, c.s.failure(ctx, err, c.chat))
		return
	}
	defer st.Close()
	var out *engine.Result
	for out == nil {
		ch, err := st.Next(-1)
		if err != nil { // the generation failed (ErrDone cannot come before the final chunk)
			writeError(c.w, c.s.failure(ctx, err, c.chat))
			return
		}
		c.firstToken(ch)
		if ch.Done {
			out = ch.Result
		}
	}
	c.s.metrics.tokens(c.p.model, out.PromptTokens, out.CompletionTokens)
	if out.FinishReason == engine.FinishCancelled {
		// The client left (the answer reaches nobody but the metrics), or
		// the server is shutting down.
		c.s.metrics.cancel(c.p.model)
		writeError(c.w, c.s.failure(ctx, fmt.Errorf("generation: %w", errs.ErrCancelled), c.chat))
		return
	}
	text := out.Text
	writeJSON(c.w, http.StatusOK, response{
		ID: c.id, Object: c.object, Created: c.created, Model: c.p.model,
		Choices: []choice{c.choice(&text, finishReason(out.FinishReason), false)},
		Usage:   usageOf(out),
	})
}

// firstToken records the time to first token at the first generated token.
func (c *completion) firstToken(ch registry.Chunk) {
	if !c.gotFirst && !ch.Done && ch.Token >= 0 {
		c.gotFirst = true
		c.s.metrics.firstToken(c.p.model, time.Since(c.start))
	}
}

// stream answers a streaming request with server-sent events. A client
// that goes away cancels the generation (its request context ends).
func (c *completion) stream(ctx context.Context, tg *target) {
	st, err := tg.stream(ctx, c.p.req)
	if err != nil {
		writeError(c.w, c.s.failure(ctx, err, c.chat))
		return
	}
	defer st.Close()
	h := c.w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the events
	c.w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(c.w)
	chunkObject := c.object + ".chunk"
	if !c.chat {
		chunkObject = c.object
	}
	send := func(choices []choice, u *usage) error {
		data, err := json.Marshal(response{ID: c.id, Object: chunkObject, Created: c.created, Model: c.p.model,
			Choices: choices, Usage: u, nullUsage: c.p.includeUsage})
		if err != nil {
			return fmt.Errorf("encode chunk: %w", err)
		}
		if _, err := fmt.Fprintf(c.w, "data: %s\n\n", data); err != nil {
			return err
		}
		return rc.Flush()
	}
	if c.chat {
		empty := ""
		first := choice{Delta: &chatMessage{Role: "assistant", Content: &empty}}
		if send([]choice{first}, nil) != nil {
			c.s.metrics.cancel(c.p.model) // the client left before the first token
			return
		}
	}
	for {
		ch, err := st.Next(-1)
		if err != nil {
			if errors.Is(err, registry.ErrDone) {
				return
			}
			c.sendError(c.s.failure(ctx, err, c.chat))
			return
		}
		c.firstToken(ch)
		if !ch.Done {
			if ch.Text != "" {
				text := ch.Text
				if send([]choice{c.choice(&text, nil, true)}, nil) != nil {
					// The client left: st.Close cancels the generation.
					c.s.metrics.cancel(c.p.model)
					return
				}
			}
			continue
		}
		res := ch.Result
		c.s.metrics.tokens(c.p.model, res.PromptTokens, res.CompletionTokens)
		if res.FinishReason == engine.FinishCancelled {
			c.s.metrics.cancel(c.p.model)
			if c.s.base.Err() != nil {
				c.sendError(c.s.failure(ctx, ctx.Err(), c.chat))
			}
			return
		}
		var text *string
		if ch.Text != "" {
			t := ch.Text
			text = &t
		}
		if c.chat && text != nil {
			if send([]choice{c.choice(text, nil, true)}, nil) != nil {
				return
			}
			text = nil
		}
		if send([]choice{c.choice(text, finishReason(res.FinishReason), true)}, nil) != nil {
			return
		}
		if c.p.includeUsage {
			if send([]choice{}, usageOf(res)) != nil {
				return
			}
		}
		if _, err := io.WriteString(c.w, "data: [DONE]\n\n"); err == nil {
			_ = rc.Flush()
		}
		return
	}
}

// sendError ends a stream with an error event (the openai clients raise it).
func (c *completion) sendError(e *apiError) {
	data, err := json.Marshal(e.body())
	if err != nil {
		return
	}
	if _, err := fmt.Fprintf(c.w, "data: %s\n\n", data); err == nil {
		_ = http.NewResponseController(c.w).Flush()
	}
}

// Serve accepts connections on ln until Shutdown; it returns nil after a
// Shutdown, else the error that stopped it.
func (s *Server) Serve(ln net.Listener) error {
	err := s.httpSrv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("server: %w", err)
}

// Draining reports whether Shutdown has begun.
func (s *Server) Draining() bool { return s.draining.Load() }

// Shutdown stops the server gracefully: /health turns 503, listeners
// close, and requests in flight may finish for up to ShutdownTimeout (or
// until ctx ends, if sooner); those still running are then cancelled (a
// stream gets an error event) and given a few seconds to end before their
// connections close. The tenants' Realms are closed. Shutdown is
// idempotent; the registry stays open.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	grace, stop := context.WithTimeout(ctx, s.opts.ShutdownTimeout)
	err := s.httpSrv.Shutdown(grace)
	stop()
	if err != nil {
		s.opts.Log.Printf("realm: shutdown: cancelling the requests still in flight")
		s.cancel()
		wait, stop := context.WithTimeout(context.Background(), cancelGrace)
		if s.httpSrv.Shutdown(wait) != nil {
			_ = s.httpSrv.Close()
		}
		stop()
	}
	s.cancel()
	s.mu.Lock()
	tenants := s.tenants
	s.tenants = map[*Tenant]map[string]*tenantRealm{}
	s.mu.Unlock()
	for _, byModel := range tenants {
		for _, tr := range byModel {
			tr.realm.Close()
		}
	}
	return nil
}
