package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	stdlog "log"
	"net"
	"os"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
)

var (
	// ErrDockerUnreachable means that no Docker engine answered.
	ErrDockerUnreachable = errors.New("Docker is not reachable") //nolint:staticcheck // "Docker" is a proper noun
	// ErrImageUnavailable means that the image is not present and could not be pulled.
	ErrImageUnavailable = errors.New("image not available")
)

// dockerConn is a testcontainers Docker provider, which knows how this machine reaches
// Docker (DOCKER_HOST, ~/.testcontainers.properties, Docker contexts, ...).
type dockerConn struct {
	*testcontainers.DockerProvider
}

// connectDocker connects and checks that the engine answers, within ctx. The provider
// constructor takes no context, so it runs aside and is abandoned if ctx ends first.
func connectDocker(ctx context.Context, logger *stdlog.Logger) (*dockerConn, error) {
	type result struct {
		p   *testcontainers.DockerProvider
		err error
	}
	ch := make(chan result, 1)
	go func() {
		p, err := testcontainers.NewDockerProvider(testcontainers.WithLogger(logger))
		ch <- result{p, err}
	}()
	select {
	case <-ctx.Done():
		return nil, fmt.Errorf("%w (no answer: %w)", ErrDockerUnreachable, ctx.Err())
	case r := <-ch:
		if r.err != nil {
			return nil, fmt.Errorf("%w (%w)", ErrDockerUnreachable, r.err)
		}
		hctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := r.p.Health(hctx); err != nil {
			_ = r.p.Close()
			return nil, fmt.Errorf("%w (%w)", ErrDockerUnreachable, err)
		}
		return &dockerConn{r.p}, nil
	}
}

// ensureImages makes sure the image (and testcontainers' reaper image, when the reaper
// is enabled) is present, pulling it once if not. testcontainers itself retries a
// failing pull with backoff for minutes; on a machine without registry access that
// would only delay the fallback to local binaries.
func (d *dockerConn) ensureImages(ctx context.Context, image string, log io.Writer) error {
	cfg := testcontainers.ReadConfig().Config
	if cfg.HubImageNamePrefix != "" {
		return nil // images are rewritten to a mirror; let testcontainers handle them
	}
	if err := d.ensureImage(ctx, image, log, "set POSTGRES_IMAGE to an image this machine has"); err != nil {
		return err
	}
	if !cfg.RyukDisabled {
		return d.ensureImage(ctx, testcontainers.ReaperDefaultImage, log, //nolint:staticcheck // the replacement is internal to testcontainers; this is still the image it runs
			"set TESTCONTAINERS_RYUK_DISABLED=true to do without testcontainers' reaper (and stop containers yourself)")
	}
	return nil
}

func (d *dockerConn) ensureImage(ctx context.Context, image string, log io.Writer, hint string) error {
	_, err := d.Client().ImageInspect(ctx, image)
	if err == nil {
		return nil
	}
	if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("inspect image %s: %w", image, err)
	}
	_, _ = fmt.Fprintf(log, "pulling %s\n", image)
	resp, err := d.Client().ImagePull(ctx, image, client.ImagePullOptions{})
	if err == nil {
		err = resp.Wait(ctx)
		_ = resp.Close()
	}
	if err != nil {
		return &wrapped{
			msg:   fmt.Sprintf("image %s is not present locally and could not be pulled (%v); %s", image, err, hint),
			short: pullFailure(image, err),
			err:   ErrImageUnavailable,
		}
	}
	return nil
}

// reachableHost returns the host on which this machine reaches the published port.
// testcontainers guesses: when it believes it runs inside a container (/.dockerenv)
// it picks the bridge network's gateway or, failing that, the default route, which is
// wrong where the engine runs in the same network namespace as we do (this project's
// CI sandbox: the guess is the outer gateway). So try its guess, then, for a local
// engine, 127.0.0.1. TESTCONTAINERS_HOST_OVERRIDE, when set, is trusted as is.
func (d *dockerConn) reachableHost(ctx context.Context, port string) (string, error) {
	host, err := d.DaemonHost(ctx)
	if err != nil {
		return "", fmt.Errorf("docker host: %w", err)
	}
	if os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") != "" {
		return host, nil
	}
	candidates := []string{host}
	if strings.HasPrefix(d.Client().DaemonHost(), "unix://") && host != "localhost" && host != "127.0.0.1" {
		candidates = append(candidates, "127.0.0.1")
	}
	for _, h := range candidates {
		dialer := net.Dialer{Timeout: time.Second}
		if c, err := dialer.DialContext(ctx, "tcp", net.JoinHostPort(h, port)); err == nil {
			_ = c.Close()
			return h, nil
		}
	}
	return host, nil // let the caller's connection attempts report the failure
}

func (d *dockerConn) inspect(ctx context.Context, name string) (container.InspectResponse, error) {
	res, err := d.Client().ContainerInspect(ctx, name, client.ContainerInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return container.InspectResponse{}, fmt.Errorf("no container %s: %w", name, ErrNotRunning)
	}
	if err != nil {
		return container.InspectResponse{}, fmt.Errorf("inspect container %s: %w", name, err)
	}
	return res.Container, nil
}

func (d *dockerConn) stop(ctx context.Context, name string) error {
	_, err := d.Client().ContainerStop(ctx, name, client.ContainerStopOptions{})
	if cerrdefs.IsNotFound(err) {
		return fmt.Errorf("no container %s: %w", name, ErrNotRunning)
	}
	if err != nil {
		return fmt.Errorf("stop container %s: %w", name, err)
	}
	return nil
}

// wrapped is an error with its own message that still matches a sentinel.
type wrapped struct {
	msg   string
	short string // for WhyNoContainer
	err   error
}

func (e *wrapped) Error() string { return e.msg }
func (e *wrapped) Unwrap() error { return e.err }
