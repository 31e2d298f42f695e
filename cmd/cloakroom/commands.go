package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
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
	expiredCounter interface {
		CountExpired(context.Context) (int64, error)
	}
)

// clearSessions deletes the expired sessions, reporting the result on w and,
// for stores that report progress, the progress on errw (see progress).
func clearSessions(ctx context.Context, f *storeFlags, w, errw io.Writer) error {
	o, err := open(ctx, f)
	if err != nil {
		return err
	}
	defer o.close()
	if o.expiresItself != "" {
		fmt.Fprintf(w, "%s: %s expires sessions by itself; nothing to clear\n", o.name, o.expiresItself)
		return nil
	}
	start := time.Now()
	var n int64
	// Through a cache, the database's records are cleared: expired copies
	// in the cache are never served and memcached drops them by itself.
	st := o.records()
	if pc, ok := st.(progressClearer); ok {
		bar := newProgress(errw, start)
		// Count what there is to delete alongside the clear, so that it
		// starts at once: the rows deleted before the count's snapshot are
		// added back (a batch or so off, which a progress bar can bear).
		countCtx, cancel := context.WithCancel(ctx)
		var counted sync.WaitGroup
		if c, ok := st.(expiredCounter); ok {
			counted.Add(1)
			go func() {
				defer counted.Done()
				before := bar.deleted()
				if left, err := c.CountExpired(countCtx); err == nil {
					bar.setTotal(before + left)
				}
			}()
		}
		n, err = pc.ClearExpiredFunc(ctx, bar.update)
		cancel()
		counted.Wait()
		bar.done(n)
	} else if c, ok := st.(clearer); ok {
		n, err = c.ClearExpired(ctx)
	} else {
		return fmt.Errorf("%s cannot clear expired sessions: %w", o.name, core.ErrUnsupported)
	}
	if err != nil {
		return fmt.Errorf("%s: deleted %d expired sessions, then: %w", o.name, n, err)
	}
	d := time.Since(start)
	fmt.Fprintf(w, "%s: deleted %d expired sessions in %v (%s/s)\n", o.name, n, d.Round(time.Millisecond), count(rate(n, d)))
	return nil
}

func stats(ctx context.Context, f *storeFlags, w io.Writer) error {
	o, err := open(ctx, f)
	if err != nil {
		return err
	}
	defer o.close()
	if o.serverStats != nil {
		return o.serverStats(ctx, w)
	}
	st, ok := o.records().(statser)
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

// progress reports a clear's progress on w: on a terminal a line redrawn
// at most every 100 ms (deleted rows, share of the total once known, rate,
// elapsed time and time left); elsewhere (a log file, a pipe) a plain line
// every progressEvery, so a long clear run from cron still shows it moves.
type progress struct {
	w     io.Writer
	tty   bool
	start time.Time
	now   func() time.Time
	every time.Duration

	mu    sync.Mutex
	n     int64
	total int64 // -1 until known
	last  time.Time
	drawn bool
}

// progressEvery is how often progress writes a line when not on a terminal.
const progressEvery = 10 * time.Second

func newProgress(w io.Writer, start time.Time) *progress {
	p := &progress{w: w, start: start, now: time.Now, every: progressEvery, total: -1, last: start}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			p.tty = true
		}
	}
	return p
}

func (p *progress) setTotal(n int64) {
	p.mu.Lock()
	p.total = n
	p.mu.Unlock()
}

func (p *progress) deleted() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// update records n rows deleted so far and draws, when it is time to.
func (p *progress) update(n int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n = n
	now := p.now()
	switch {
	case p.tty && now.Sub(p.last) >= 100*time.Millisecond:
		fmt.Fprint(p.w, "\r"+p.line(n, p.total, now.Sub(p.start))+"\033[K")
		p.drawn = true
	case !p.tty && now.Sub(p.last) >= p.every:
		fmt.Fprintln(p.w, "clearsessions: "+p.line(n, p.total, now.Sub(p.start)))
	default:
		return
	}
	p.last = now
}

// line renders the progress after n of total rows (total < 0: unknown) in
// elapsed time.
func (p *progress) line(n, total int64, elapsed time.Duration) string {
	r := rate(n, elapsed)
	tail := fmt.Sprintf("%s/s, %s elapsed", count(r), elapsed.Round(time.Second))
	if total <= 0 {
		return fmt.Sprintf("deleted %s, %s", count(n), tail)
	}
	frac := min(float64(n)/float64(total), 1)
	const width = 30
	full := int(frac * width)
	left := ""
	if r > 0 && n < total {
		left = fmt.Sprintf(", ~%s left", (time.Duration(float64(total-n)/float64(r)) * time.Second).Round(time.Second))
	}
	return fmt.Sprintf("[%s%s] %3.0f%% %s/%s, %s%s", strings.Repeat("#", full), strings.Repeat(" ", width-full), 100*frac, count(n), count(total), tail, left)
}

// done clears the terminal line; the caller prints the result.
func (p *progress) done(int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
	}
}

// rate is n per second over d, rounded down.
func rate(n int64, d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64(float64(n) / d.Seconds())
}

// count writes n with thousands separators: 1,234,567.
func count(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
