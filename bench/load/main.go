// Command load drives the example shop over loopback with concurrent
// clients, once per session store, and prints requests per second and
// latency percentiles. It is bounded in time and in requests and talks only
// to 127.0.0.1.
//
//	cd bench && go run ./load -clients 16 -duration 5s -stores memory,sqlite,file,cookie,memcached,redis
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

func main() {
	clients := flag.Int("clients", 16, "concurrent clients (1 to 256)")
	duration := flag.Duration("duration", 5*time.Second, "how long to drive each store (at most 1m)")
	maxReq := flag.Int("max-requests", 200000, "stop a store's run after this many requests")
	stores := flag.String("stores", "memory,sqlite,file,cookie,memcached,redis", "comma-separated stores of the example app")
	framework := flag.String("framework", "gin", "gin or echo")
	flag.Parse()
	if *clients < 1 || *clients > 256 || *duration <= 0 || *duration > time.Minute || *maxReq < 1 {
		fmt.Fprintln(os.Stderr, "load: -clients 1..256, -duration up to 1m, -max-requests positive")
		os.Exit(2)
	}
	if err := run(*clients, *duration, *maxReq, strings.Split(*stores, ","), *framework); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
}

func run(clients int, duration time.Duration, maxReq int, stores []string, framework string) error {
	tmp, err := os.MkdirTemp("", "cloakroom-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "shop")
	build := exec.Command("go", "build", "-C", "../_example", "-o", bin, "./shop")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("building the example app (run from bench/): %w", err)
	}
	fmt.Printf("%d clients, %v per store, %s, loopback; started %s\n\n", clients, duration, framework, time.Now().UTC().Format("2006-01-02T15:04Z"))
	fmt.Printf("| store | requests | errors | req/s | p50 | p99 |\n|---|---|---|---|---|---|\n")
	for _, st := range stores {
		// The shop spells its store flags as the cloakroom command does:
		// "sqlite" here is -store gorm -driver sqlite.
		store := st
		if st == "sqlite" {
			store = "gorm"
		}
		args := []string{"-framework", framework, "-store", store, "-driver", "sqlite", "-bcrypt-cost", "4",
			"-dsn", filepath.Join(tmp, st+".db"), "-dir", tmp, "-cookie-secret", "0123456789abcdef0123456789abcdef"}
		switch st {
		case "memcached", "cached":
			addr, stop, err := startServer("memcached", func(port string) []string {
				args := []string{"-l", "127.0.0.1", "-p", port, "-U", "0"}
				if os.Geteuid() == 0 {
					args = append(args, "-u", "root")
				}
				return args
			})
			if err != nil {
				fmt.Printf("| %s | skipped: %v | | | | |\n", st, err)
				continue
			}
			defer stop()
			args = append(args, "-servers", addr)
		case "redis":
			addr, stop, err := startServer("redis-server", func(port string) []string {
				return []string{"--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no", "--dir", tmp}
			})
			if err != nil {
				fmt.Printf("| %s | skipped: %v | | | | |\n", st, err)
				continue
			}
			defer stop()
			args = append(args, "-redis", addr)
		}
		res, err := drive(bin, args, clients, duration, maxReq)
		if err != nil {
			return fmt.Errorf("%s: %w", st, err)
		}
		fmt.Printf("| %s | %d | %d | %.0f | %v | %v |\n", st, res.n, res.errors, float64(res.n)/res.elapsed.Seconds(), res.pct(50), res.pct(99))
	}
	return nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startServer starts the server program name (memcached, redis-server) on
// a free loopback port, with the arguments args gives for that port, and
// waits until it accepts connections.
func startServer(name string, args func(port string) []string) (string, func(), error) {
	bin, err := exec.LookPath(name)
	if err != nil {
		return "", nil, fmt.Errorf("%s is not installed", name)
	}
	addr, err := freeAddr()
	if err != nil {
		return "", nil, err
	}
	_, port, _ := net.SplitHostPort(addr)
	cmd := exec.Command(bin, args(port)...)
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	for i := 0; i < 100; i++ {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return addr, stop, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	return "", nil, fmt.Errorf("%s did not start", name)
}

type result struct {
	n, errors int
	elapsed   time.Duration
	lat       []time.Duration
}

func (r result) pct(p int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[(len(r.lat)-1)*p/100].Round(time.Microsecond)
}

var tokenRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// drive starts the app and runs the clients against it: each adds an item
// to its cart (POST), views the cart and views the catalogue, in a loop.
func drive(bin string, args []string, clients int, duration time.Duration, maxReq int) (result, error) {
	addr, err := freeAddr()
	if err != nil {
		return result{}, err
	}
	cmd := exec.Command(bin, append([]string{"-addr", addr}, args...)...)
	if err := cmd.Start(); err != nil {
		return result{}, err
	}
	defer func() { _ = cmd.Process.Signal(os.Interrupt); _ = cmd.Wait() }()
	base := "http://" + addr
	up := false
	for i := 0; i < 200 && !up; i++ {
		if resp, err := http.Get(base + "/healthz"); err == nil {
			resp.Body.Close()
			up = resp.StatusCode == 200
		}
		if !up {
			time.Sleep(25 * time.Millisecond)
		}
	}
	if !up {
		return result{}, errors.New("the app did not start")
	}
	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var mu sync.Mutex
	var res result
	var budget = make(chan struct{}, maxReq)
	for i := 0; i < maxReq; i++ {
		budget <- struct{}{}
	}
	transport := &http.Transport{MaxIdleConnsPerHost: clients}
	start := time.Now()
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			jar, _ := cookiejar.New(nil)
			client := &http.Client{Jar: jar, Transport: transport, Timeout: 10 * time.Second,
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			token := ""
			var lat []time.Duration
			errs := 0
			do := func(req *http.Request) string {
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil { // not the end of the run cutting a request short
						errs++
					}
					return ""
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
				if resp.StatusCode >= 400 {
					errs++
				}
				return string(body)
			}
			for ctx.Err() == nil {
				select {
				case <-budget:
				default:
					goto done
				}
				req, _ := http.NewRequestWithContext(ctx, "GET", base+"/", nil)
				if m := tokenRE.FindStringSubmatch(do(req)); m != nil {
					token = m[1]
				}
				form := url.Values{"sku": {"honey"}, "qty": {strconv.Itoa(1)}, "csrf_token": {token}}
				req, _ = http.NewRequestWithContext(ctx, "POST", base+"/cart/add", strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				do(req)
				req, _ = http.NewRequestWithContext(ctx, "GET", base+"/cart", nil)
				do(req)
			}
		done:
			mu.Lock()
			res.n += len(lat)
			res.errors += errs
			res.lat = append(res.lat, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	slices.Sort(res.lat)
	return res, nil
}
