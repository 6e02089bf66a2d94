package upstream

import "encoding/json"

// Identification is the outcome of a successful Marksign identification
// (Smart-ID or Mobile-ID login): who the user is, as the provider stated it.
//
// It holds personal data: it is marshalled into webhook payloads and must
// never be logged.
type Identification struct {
	// Country is the person's country code, e.g. "EE".
	Country string `json:"country"`
	// PersonalCode is the person's national identification code.
	PersonalCode string `json:"personal_code"`
	// GivenName is the person's given name.
	GivenName string `json:"given_name"`
	// Surname is the person's surname.
	Surname string `json:"surname"`
	// ControlCode is the verification code shown to the user, if any.
	ControlCode string `json:"control_code,omitempty"`
	// Certificate is the person's authentication certificate, nil if the
	// answer carried none.
	Certificate *Certificate `json:"certificate,omitempty"`
	// SanctionsData is the provider's sanctions screening data as received.
	SanctionsData json.RawMessage `json:"sanctions_data,omitempty"`
	// PEPsData is the provider's politically exposed persons data as
	// received.
	PEPsData json.RawMessage `json:"peps_data,omitempty"`
}

// Certificate describes the certificate of an identified person.
type Certificate struct {
	// Name is the certificate's distinguished name in the provider's
	// notation, e.g. "/C=EE/CN=.../serialNumber=PNOEE-...".
	Name string `json:"name,omitempty"`
	// Subject holds the subject's fields.
	Subject CertificateSubject `json:"subject"`
	// Issuer holds the issuer's fields.
	Issuer CertificateIssuer `json:"issuer"`
	// ValidFrom is the first day of validity as received (YYYY-MM-DD).
	ValidFrom string `json:"valid_from,omitempty"`
	// ValidTo is the last day of validity as received (YYYY-MM-DD).
	ValidTo string `json:"valid_to,omitempty"`
	// Value is the whole certificate as received (base64).
	Value string `json:"value,omitempty"`
}

// CertificateSubject holds the subject fields of a Certificate.
type CertificateSubject struct {
	// Country is the subject's country code.
	Country string `json:"country,omitempty"`
	// Organisation is the subject's organisation, usually empty for persons.
	Organisation string `json:"organisation,omitempty"`
	// OrganisationUnit is the subject's organisation unit.
	OrganisationUnit string `json:"organisation_unit,omitempty"`
	// CommonName is the subject's common name.
	CommonName string `json:"common_name,omitempty"`
	// Surname is the subject's surname.
	Surname string `json:"surname,omitempty"`
	// GivenName is the subject's given name (the provider's "name").
	GivenName string `json:"given_name,omitempty"`
	// SerialNumber is the subject's serial number, e.g. "PNOEE-60001017705".
	SerialNumber string `json:"serial_number,omitempty"`
}

// CertificateIssuer holds the issuer fields of a Certificate.
type CertificateIssuer struct {
	// Country is the issuer's country code.
	Country string `json:"country,omitempty"`
	// Organisation is the issuer's organisation.
	Organisation string `json:"organisation,omitempty"`
	// CommonName is the issuer's common name.
	CommonName string `json:"common_name,omitempty"`
}

// Signature is the outcome of a successful Marksign signing or hash signing.
type Signature struct {
	// SignatureID is the provider's id of the signature.
	SignatureID string `json:"signature_id"`
	// File is the signed file, nil if the answer carried none. Its content is
	// left in Result.Answer: it can be large.
	File *SignedFile `json:"file,omitempty"`
	// Person is the signer as received.
	Person json.RawMessage `json:"person,omitempty"`
}

// SignedFile names the file a Signature signed.
type SignedFile struct {
	// Name is the file's name.
	Name string `json:"name,omitempty"`
	// Digest is the file's digest as received.
	Digest string `json:"digest,omitempty"`
}

// Verification is the outcome of a terminal FortID verification session.
type Verification struct {
	// PresentedClaims holds the claims the wallet disclosed, as received;
	// set when the verification succeeded.
	PresentedClaims json.RawMessage `json:"presented_claims,omitempty"`
	// Description says why the verification failed; set when it failed.
	Description string `json:"description,omitempty"`
}
