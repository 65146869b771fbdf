//go:build unix

package mailer

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"
)

// BenchmarkDirSender writes one rendered message into the pickup folder
// (a new file, flushed, renamed, the folder flushed) per operation, in a
// folder under TMPDIR. Besides the time it reports the process's CPU per
// message (user and system, from getrusage): on a machine whose file
// system makes creating a file dear, that, not the rendering, is most of
// what the worker spends on a message.
func BenchmarkDirSender(b *testing.B) {
	c, _ := testComposer(b)
	rows, err := c.LeadMessages(testLead())
	if err != nil {
		b.Fatal(err)
	}
	m, err := c.Render(rows[0].Payload)
	if err != nil {
		b.Fatal(err)
	}
	d := DirSender{Dir: b.TempDir()}
	ctx := context.Background()
	cpu0 := processCPU(b)
	n := 0
	for b.Loop() {
		m.MessageID = fmt.Sprintf("<bench-%d@example.com>", n)
		n++
		if err := d.Send(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(processCPU(b)-cpu0)/float64(n), "cpu-ns/op")
}

// processCPU is the user and system CPU time the process has used.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
