package migrate_test

import (
	"crypto/rand"
	"encoding/hex"
	"testing"
)

func randSuffix(t *testing.T) string {
	t.Helper()
	var b [5]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}
