package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/cloakroom/cloakroom/core"
)

// The capabilities the commands look for, defined here where they are used.
type (
	clearer interface {
		ClearExpired(context.Context) (int64, error)
	}
	progressClearer interface {
		ClearExpiredFunc(context.Context, func(int64)) (int64, error)
	}
	statser interface {
		Stats(context.Context) (core.Stats, error)
	}
)

func clearSessions(ctx context.Context, f *storeFlags, w io.Writer) error {
	o, err := open(ctx, f)
	if err != nil {
		return err
	}
	defer o.close()
	if o.memcachedStats != nil {
		fmt.Fprintf(w, "%s: memcached expires sessions by itself; nothing to clear\n", o.name)
		return nil
	}
	start := time.Now()
	var n int64
	if pc, ok := o.store.(progressClearer); ok {
		var total int64 = -1
		if st, ok := o.store.(statser); ok {
			if s, err := st.Stats(ctx); err == nil {
				total = s.Expired
			}
		}
		bar := newProgress(w, total)
		n, err = pc.ClearExpiredFunc(ctx, bar.update)
		bar.done()
	} else if c, ok := o.store.(clearer); ok {
		n, err = c.ClearExpired(ctx)
	} else {
		return fmt.Errorf("%s cannot clear expired sessions: %w", o.name, core.ErrUnsupported)
	}
	if err != nil {
		return fmt.Errorf("%s: deleted %d expired sessions, then: %w", o.name, n, err)
	}
	fmt.Fprintf(w, "%s: deleted %d expired sessions in %v\n", o.name, n, time.Since(start).Round(time.Millisecond))
	return nil
}

func stats(ctx context.Context, f *storeFlags, w io.Writer) error {
	o, err := open(ctx, f)
	if err != nil {
		return err
	}
	defer o.close()
	if o.memcachedStats != nil {
		return o.memcachedStats(ctx, w)
	}
	st, ok := o.store.(statser)
	if !ok {
		return fmt.Errorf("%s cannot report statistics", o.name)
	}
	s, err := st.Stats(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "%s\n  live sessions     %d\n  expired sessions  %d (run clearsessions)\n  live data         %d bytes", o.name, s.Live, s.Expired, s.Bytes)
	if s.Live > 0 {
		fmt.Fprintf(w, " (%d bytes on average)", s.Bytes/s.Live)
	}
	fmt.Fprintf(w, "\n  size distribution of live sessions:\n")
	lower := "0"
	for i, c := range s.Sizes {
		label := "> " + byteSize(core.SizeBounds[len(core.SizeBounds)-1])
		if i < len(core.SizeBounds) {
			label = lower + " - " + byteSize(core.SizeBounds[i])
			lower = byteSize(core.SizeBounds[i])
		}
		bar := ""
		if s.Live > 0 {
			bar = strings.Repeat("#", int(40*c/s.Live))
		}
		fmt.Fprintf(w, "    %-16s %10d %s\n", label, c, bar)
	}
	return nil
}

func byteSize(n int64) string {
	if n >= 1<<10 && n%(1<<10) == 0 {
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d B", n)
}

// progress draws a progress bar on a terminal and nothing elsewhere.
type progress struct {
	w     io.Writer
	total int64
	tty   bool
	last  time.Time
}

func newProgress(w io.Writer, total int64) *progress {
	p := &progress{w: w, total: total}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) update(n int64) {
	if !p.tty || time.Since(p.last) < 100*time.Millisecond {
		return
	}
	p.last = time.Now()
	fmt.Fprint(p.w, "\r"+p.line(n))
}

// line renders the bar for n deleted sessions.
func (p *progress) line(n int64) string {
	if p.total <= 0 {
		return fmt.Sprintf("deleted %d", n)
	}
	frac := min(float64(n)/float64(p.total), 1)
	const width = 30
	full := int(frac * width)
	return fmt.Sprintf("[%s%s] %3.0f%% %d/%d", strings.Repeat("#", full), strings.Repeat(" ", width-full), 100*frac, n, p.total)
}

func (p *progress) done() {
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K")
	}
}
