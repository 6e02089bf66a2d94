package seal

import (
	"bytes"
	"testing"
)

// BenchmarkSealOpen prints the cost of sealing and opening a signing
// secret and a 4 kB payload, what a delivery pays per attempt.
func BenchmarkSealOpen(b *testing.B) {
	k, err := Generate("bench")
	if err != nil {
		b.Fatal(err)
	}
	ring, err := Parse(k)
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{44, 4096} {
		p := bytes.Repeat([]byte("a"), size)
		s := ring.Seal("p", p)
		b.Run("open-"+itoa(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, err := ring.Open("p", s); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("seal-"+itoa(size), func(b *testing.B) {
			b.SetBytes(int64(size))
			for b.Loop() {
				_ = ring.Seal("p", p)
			}
		})
	}
}

func itoa(n int) string {
	if n == 44 {
		return "secret"
	}
	return "4kB"
}
