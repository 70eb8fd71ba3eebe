package httpapi

import (
	"net/http"
)

// response is a rendered answer: a command's (success or problem) or a problem of the
// error handler.
type response struct {
	Status      int
	ContentType string
	Headers     map[string]string
	Body        []byte
}

// storedResponse sends a rendered response; replayed marks the answer to an idempotent
// repeat. Each aggregate's command file declares its Visit<Op>Response methods, so that
// it satisfies the generated response interface of every command.
type storedResponse struct {
	resp     response
	replayed bool
}

func (s storedResponse) write(w http.ResponseWriter) error {
	for k, v := range s.resp.Headers {
		w.Header().Set(k, v)
	}
	if s.resp.ContentType != "" {
		w.Header().Set("Content-Type", s.resp.ContentType)
	}
	if s.replayed {
		w.Header().Set("Idempotency-Replayed", "true")
	}
	w.WriteHeader(s.resp.Status)
	_, err := w.Write(s.resp.Body)
	return err
}
