package console

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromium finds the browser: CHROMIUM_PATH, else the distributions' names. Without
// one the test skips, but in CI (CI=true) it fails: there the browser tests must run.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM_PATH"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium (chromium, chromium-browser, google-chrome or CHROMIUM_PATH): CI must run the console's browser tests; .ci/run installs it")
	}
	t.Skip("no Chromium: the console's browser tests are skipped (apt-get install chromium)")
	return ""
}

// browser starts a headless Chromium for the test, closed when it ends.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-gpu", true))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox) // Chromium refuses to run as root with its sandbox
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	ctx, cancel := chromedp.NewContext(alloc, chromedp.WithLogf(t.Logf))
	t.Cleanup(func() {
		cancel()
		cancelAlloc()
	})
	return ctx
}

// tab is one browser tab on the console. Every uncaught exception and every Content
// Security Policy violation in it fails the test: the console has no inline code to
// refuse, and a refusal would mean a page that silently does nothing.
type tab struct {
	t    *testing.T
	ctx  context.Context
	base string

	mu       sync.Mutex
	problems []string
}

// openTab opens a new tab of the browser of ctx, on the console, and logs in with token.
func openTab(t *testing.T, browserCtx context.Context, base, token string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browserCtx)
	t.Cleanup(cancel)
	p := &tab{t: t, ctx: ctx, base: base}
	if err := chromedp.Listen(ctx, p.watch); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, problem := range p.problems {
			t.Errorf("in the browser: %s", problem)
		}
	})
	p.do("open the console", chromedp.Navigate(base+"/console"), chromedp.WaitVisible(chromedp.ID("token")))
	p.do("log in", chromedp.SetValue(chromedp.ID("token"), token), chromedp.Click(chromedp.CSS("form.login button")))
	p.wait("the navigation", `!document.getElementById('nav').hidden`)
	return p
}

func (p *tab) watch(ev any) {
	var problem string
	switch e := ev.(type) {
	case *runtime.EventExceptionThrown:
		problem = "exception: " + e.ExceptionDetails.Text
		if e.ExceptionDetails.Exception != nil {
			problem += " " + e.ExceptionDetails.Exception.Description
		}
	case *log.EventEntryAdded:
		if e.Entry.Source == log.EntrySourceSecurity || strings.Contains(e.Entry.Text, "Content Security Policy") {
			problem = "refused by the Content-Security-Policy: " + e.Entry.Text
		}
	}
	if problem != "" {
		p.mu.Lock()
		p.problems = append(p.problems, problem)
		p.mu.Unlock()
	}
}

// do runs actions, failing the test (with a screenshot) if one fails.
func (p *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	if err := chromedp.Do(p.ctx, actions...); err != nil {
		p.fail(what, err)
	}
}

// wait waits until the JavaScript expression cond is true in the page.
func (p *tab) wait(what, cond string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.ctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		p.fail("wait for "+what, err)
	}
}

// text is the text of the first element matching the CSS selector sel.
func (p *tab) text(sel string) string {
	p.t.Helper()
	// One evaluation reads the node that is there now: a node looked up first and read
	// after may have been replaced by a re-render in between.
	q, err := json.Marshal(sel)
	if err != nil {
		p.fail("read "+sel, err)
	}
	s, err := chromedp.Run(p.ctx, chromedp.Evaluate[string](`(document.querySelector(`+string(q)+`) || {}).innerText || ''`))
	if err != nil {
		p.fail("read "+sel, err)
	}
	return strings.TrimSpace(s)
}

func (p *tab) fail(what string, err error) {
	p.t.Helper()
	p.shot("failure", false)
	body, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`document.body.innerText`))
	p.t.Fatalf("%s: %v\npage text:\n%s", what, err, body)
}

// shot saves a PNG of the whole page as name.png in the test's artifact directory
// and, when docs and CONSOLE_SCREENSHOTS is set, as console-name.png there.
func (p *tab) shot(name string, docs bool) {
	p.t.Helper()
	png, err := chromedp.Run(p.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Errorf("screenshot %s: %v", name, err)
		return
	}
	paths := []string{filepath.Join(p.t.ArtifactDir(), name+".png")}
	if dir := os.Getenv("CONSOLE_SCREENSHOTS"); dir != "" && docs {
		paths = append(paths, filepath.Join(dir, "console-"+name+".png"))
	}
	for _, path := range paths {
		if err := os.WriteFile(path, png, 0o600); err != nil {
			p.t.Errorf("screenshot %s: %v", name, err)
			continue
		}
		p.t.Logf("screenshot: %s", path)
	}
}

// js quotes s as a JavaScript string literal.
func js(s string) string { return fmt.Sprintf("%q", s) }
