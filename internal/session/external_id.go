package session

import (
	"fmt"
	"strings"
)

// Provider session id rules. The sessions table enforces the same rules
// (migrations 00001 and 00002: sessions_external_id_check,
// sessions_fortid_uuid_check and the registration trigger's
// sessions_marksign_token_check), and the provider clients refuse nothing
// these accept.
const (
	// MarksignTokenMaxLen is the longest Marksign session token.
	MarksignTokenMaxLen = 128
	// ExternalIDMaxLen is the longest external id of any provider.
	ExternalIDMaxLen = 200
)

// CanonicalExternalID returns id in the form pollhook stores it: FortID's
// UUIDs in lower case (the database lowercases them on insert, so the same
// session in another case is the same row), anything else unchanged.
func CanonicalExternalID(p Provider, id string) string {
	if p == ProviderFortID {
		return strings.ToLower(id)
	}
	return id
}

// ValidateExternalID reports why id cannot be a session id of provider p,
// or nil.
func ValidateExternalID(p Provider, id string) error {
	switch p {
	case ProviderFortID:
		if !IsUUID(id) {
			return fmt.Errorf("fortid session id %q is not a UUID", clip(id))
		}
	case ProviderMarksign:
		if !isToken(id, MarksignTokenMaxLen) {
			return fmt.Errorf("marksign session token %q is not 1 to %d letters, digits, '-' or '_'", clip(id), MarksignTokenMaxLen)
		}
	default:
		if !isToken(id, ExternalIDMaxLen) {
			return fmt.Errorf("external id %q is not 1 to %d letters, digits, '-' or '_'", clip(id), ExternalIDMaxLen)
		}
	}
	return nil
}

// IsUUID reports whether s is a UUID in its canonical textual form
// (8-4-4-4-12 hexadecimal digits, any version and case).
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// isToken reports whether s is 1 to max ASCII letters, digits, '-' or '_':
// the sessions table's sessions_external_id_check.
func isToken(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// clip shortens an id quoted in an error.
func clip(s string) string {
	if len(s) <= 64 {
		return s
	}
	return strings.ToValidUTF8(s[:64], "") + "..."
}
