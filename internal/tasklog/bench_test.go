package tasklog

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

// benchSize and benchChunk: 256 MiB in the 64 KiB pieces a pipe hands on.
const (
	benchSize  = 256 << 20
	benchChunk = 64 << 10
)

// BenchmarkWriter256MiB writes 256 MiB through a log with the default
// cap (64 MiB: the first cut and about nine more); compare its MB/s with
// BenchmarkDirectFile256MiB's, the same bytes written to a plain file:
//
//	go test -tags urfave_cli_no_docs -run '^$' -bench 256MiB -benchtime 5x ./internal/tasklog/
func BenchmarkWriter256MiB(b *testing.B) {
	benchWrite(b, func(path string) (io.WriteCloser, error) { return Create(path, DefaultMax) })
}

// BenchmarkDirectFile256MiB is BenchmarkWriter256MiB's yardstick.
func BenchmarkDirectFile256MiB(b *testing.B) {
	benchWrite(b, func(path string) (io.WriteCloser, error) { return os.Create(path) })
}

func benchWrite(b *testing.B, open func(string) (io.WriteCloser, error)) {
	chunk := stream(benchChunk, true, 1)
	dir := b.TempDir()
	b.SetBytes(benchSize)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		path := filepath.Join(dir, "bench.log")
		w, err := open(path)
		if err != nil {
			b.Fatal(err)
		}
		for n := 0; n < benchSize; n += benchChunk {
			if _, err := w.Write(chunk); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		os.Remove(path)
		b.StartTimer()
	}
}
