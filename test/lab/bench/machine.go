package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// machine describes where the numbers come from.
type machine struct {
	Date      string `json:"date"`
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	MemoryGiB string `json:"memory_gib"`
	Kernel    string `json:"kernel"`
	Go        string `json:"go"`
	LoadAvg   string `json:"load_average_at_start"`
}

func readMachine() machine {
	m := machine{
		Date:     time.Now().Format(time.RFC3339),
		CPUs:     runtime.NumCPU(),
		CPUModel: "unknown",
		Go:       runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
	}
	if v, ok := procField("/proc/cpuinfo", "model name", ":"); ok {
		m.CPUModel = v
	}
	if v, ok := procField("/proc/meminfo", "MemTotal", ":"); ok {
		if kb, err := strconv.ParseFloat(strings.Fields(v)[0], 64); err == nil {
			m.MemoryGiB = fmt.Sprintf("%.1f", kb/(1<<20))
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		m.LoadAvg = strings.Join(strings.Fields(string(b))[:3], " ")
	}
	return m
}

func printMachine(m machine) {
	logf("machine: %d CPUs (%s), %s GiB, Linux %s, %s; load average %s; %s",
		m.CPUs, m.CPUModel, m.MemoryGiB, m.Kernel, m.Go, m.LoadAvg, m.Date)
}

// procField returns the value of the first "key<sep>value" line of a /proc file.
func procField(path, key, sep string) (string, bool) {
	f, err := os.Open(path)
	if err != nil {
		return "", false
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// memory is a process's resident memory, from /proc/<pid>/status.
type memory struct {
	PeakMiB float64 `json:"peak_rss_mib"` // VmHWM: the high-water mark since the process started
	RSSMiB  float64 `json:"rss_mib"`      // VmRSS: now
}

func readMemory(pid int) (memory, bool) {
	path := fmt.Sprintf("/proc/%d/status", pid)
	hwm, ok1 := procField(path, "VmHWM", ":")
	rss, ok2 := procField(path, "VmRSS", ":")
	if !ok1 || !ok2 {
		return memory{}, false
	}
	return memory{PeakMiB: kib(hwm) / 1024, RSSMiB: kib(rss) / 1024}, true
}

func kib(v string) float64 {
	f, _ := strconv.ParseFloat(strings.Fields(v)[0], 64)
	return f
}

// clockTick is USER_HZ, the unit of /proc CPU times; 100 on every Linux in practice.
const clockTick = 100.0

// processCPU is the user+system CPU seconds of a process; with children, also those of
// its reaped children (a PostgreSQL backend that exited).
func processCPU(pid int, children bool) (float64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)) //nolint:gosec // a pid, not a path from outside
	if err != nil {
		return 0, false
	}
	_, fields, ok := statFields(string(b))
	if !ok || len(fields) < 15 {
		return 0, false
	}
	// After "pid (comm)": state ppid pgrp session tty tpgid flags minflt cminflt majflt
	// cmajflt utime stime cutime cstime; utime is index 11.
	sum := 0.0
	last := 12
	if children {
		last = 14
	}
	for i := 11; i <= last; i++ {
		v, _ := strconv.ParseFloat(fields[i], 64)
		sum += v
	}
	return sum / clockTick, true
}

// statFields splits /proc/<pid>/stat into the command name and the fields after it.
func statFields(s string) (comm string, fields []string, ok bool) {
	open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if open < 0 || closing < open {
		return "", nil, false
	}
	return s[open+1 : closing], strings.Fields(s[closing+1:]), true
}

// childrenOf lists the pids whose parent is pid.
func childrenOf(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		if _, f, ok := statFields(string(b)); ok && len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out
}

// machineCPU returns busy, stolen (by the hypervisor) and total CPU seconds of the
// whole machine, all CPUs together.
func machineCPU() (busy, steal, total float64, ok bool) {
	line, ok := procField("/proc/stat", "cpu", " ")
	if !ok {
		return 0, 0, 0, false
	}
	// user nice system idle iowait irq softirq steal guest guest_nice; guest time is
	// already counted in user.
	for i, v := range strings.Fields(line) {
		x, _ := strconv.ParseFloat(v, 64)
		if i >= 8 {
			break
		}
		total += x
		switch i {
		case 3, 4:
		case 7:
			steal += x
		default:
			busy += x
		}
	}
	return busy / clockTick, steal / clockTick, total / clockTick, true
}

// syscalls returns the number of read and write system calls a process has made
// (/proc/<pid>/io): for the service, its socket reads and writes, HTTP and PostgreSQL.
func syscalls(pid int) (reads, writes float64) {
	path := fmt.Sprintf("/proc/%d/io", pid)
	r, _ := procField(path, "syscr", ":")
	w, _ := procField(path, "syscw", ":")
	reads, _ = strconv.ParseFloat(r, 64)
	writes, _ = strconv.ParseFloat(w, 64)
	return reads, writes
}

// cpuTimes is a reading of the CPU counters the benchmark follows.
type cpuTimes struct {
	service, postgres, harness float64
	crud                       float64
	busy, steal, total         float64
	pgKnown                    bool
	svcReads, svcWrites        float64
}

// cpuShare is the CPU spent between two readings.
type cpuShare struct {
	service, postgres, harness, busy, steal, total float64
	crud                                           float64
	pgKnown                                        bool
	svcReads, svcWrites                            float64
}

func (a cpuTimes) since(b cpuTimes) cpuShare {
	return cpuShare{
		service: a.service - b.service, crud: a.crud - b.crud, postgres: a.postgres - b.postgres, harness: a.harness - b.harness,
		busy: a.busy - b.busy, steal: a.steal - b.steal, total: a.total - b.total,
		pgKnown:  a.pgKnown && b.pgKnown,
		svcReads: a.svcReads - b.svcReads, svcWrites: a.svcWrites - b.svcWrites,
	}
}

// cpuPerOp is CPU milliseconds per operation, split by who spent them. Other is
// everything else on the machine (PostgreSQL too when its processes are not visible,
// e.g. in a container, plus whatever else runs there).
type cpuPerOp struct {
	Service  float64  `json:"service"`
	CRUD     float64  `json:"crud_server"`
	Postgres *float64 `json:"postgres,omitempty"`
	Harness  float64  `json:"harness"`
	Other    float64  `json:"other"`
	BusyPct  float64  `json:"machine_busy_pct"`
	StealPct float64  `json:"machine_steal_pct"`
	// The service's read and write system calls per operation.
	SvcReads  float64 `json:"service_reads_per_op"`
	SvcWrites float64 `json:"service_writes_per_op"`
}

func (s cpuShare) perOp(n int) cpuPerOp {
	if n == 0 || s.total <= 0 {
		return cpuPerOp{}
	}
	per := func(x float64) float64 { return x * 1000 / float64(n) }
	c := cpuPerOp{Service: per(s.service), CRUD: per(s.crud), Harness: per(s.harness),
		BusyPct: 100 * s.busy / s.total, StealPct: 100 * s.steal / s.total,
		SvcReads: s.svcReads / float64(n), SvcWrites: s.svcWrites / float64(n)}
	other := s.busy - s.service - s.crud - s.harness
	if s.pgKnown {
		pg := per(s.postgres)
		c.Postgres = &pg
		other -= s.postgres
	}
	c.Other = per(max(other, 0))
	return c
}

func medianCPU(cs []cpuPerOp) cpuPerOp {
	pick := func(f func(cpuPerOp) float64) float64 {
		xs := make([]float64, len(cs))
		for i, c := range cs {
			xs[i] = f(c)
		}
		return median(xs)
	}
	m := cpuPerOp{
		Service:   pick(func(c cpuPerOp) float64 { return c.Service }),
		CRUD:      pick(func(c cpuPerOp) float64 { return c.CRUD }),
		Harness:   pick(func(c cpuPerOp) float64 { return c.Harness }),
		Other:     pick(func(c cpuPerOp) float64 { return c.Other }),
		BusyPct:   pick(func(c cpuPerOp) float64 { return c.BusyPct }),
		StealPct:  pick(func(c cpuPerOp) float64 { return c.StealPct }),
		SvcReads:  pick(func(c cpuPerOp) float64 { return c.SvcReads }),
		SvcWrites: pick(func(c cpuPerOp) float64 { return c.SvcWrites }),
	}
	if len(cs) > 0 && cs[0].Postgres != nil {
		pg := pick(func(c cpuPerOp) float64 {
			if c.Postgres == nil {
				return 0
			}
			return *c.Postgres
		})
		m.Postgres = &pg
	}
	return m
}
