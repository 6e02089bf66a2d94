// Package personcert makes real X.509 authentication certificates for a
// test person, shaped like those SK's test CA issues and Marksign returns:
// the simulator answers with them, and the upstream tests read them.
//
// It imports only the standard library.
package personcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"math/big"
	"time"
)

// The issuer every certificate names: SK's test CA.
const (
	IssuerCountry      = "EE"
	IssuerOrganisation = "AS Sertifitseerimiskeskus"
	IssuerCommonName   = "TEST of ESTEID-SK 2015"
)

// Object identifiers of the subject name parts Go's pkix.Name has no field
// for.
var (
	oidSurname   = asn1.ObjectIdentifier{2, 5, 4, 4}
	oidGivenName = asn1.ObjectIdentifier{2, 5, 4, 42}
)

// Person is a certificate's subject.
type Person struct {
	// Country is the ISO 3166 code of the issuing country, e.g. "EE".
	Country string
	// Surname is the person's surname, as SK writes it (upper case).
	Surname string
	// GivenName is the person's given name, as SK writes it.
	GivenName string
	// Code is the person's national identity code.
	Code string
}

// CommonName is p's common name as SK writes it: "SURNAME,GIVENNAME,CODE".
func (p Person) CommonName() string {
	return p.Surname + "," + p.GivenName + "," + p.Code
}

// SerialNumber is p's subject serial number: "PNO", the country, "-" and
// the code (the ETSI semantics identifier).
func (p Person) SerialNumber() string {
	return "PNO" + p.Country + "-" + p.Code
}

// New returns the DER of a digital-signature certificate for p with serial
// and validity notBefore to notAfter, naming SK's test CA as issuer and
// signed by a throwaway P-384 key.
func New(p Person, serial *big.Int, notBefore, notAfter time.Time) ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("personcert: generate key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			Country:      []string{p.Country},
			CommonName:   p.CommonName(),
			SerialNumber: p.SerialNumber(),
			ExtraNames: []pkix.AttributeTypeAndValue{
				{Type: oidSurname, Value: p.Surname},
				{Type: oidGivenName, Value: p.GivenName},
			},
		},
		NotBefore: notBefore,
		NotAfter:  notAfter,
		KeyUsage:  x509.KeyUsageDigitalSignature,
	}
	issuer := &x509.Certificate{Subject: pkix.Name{
		Country:      []string{IssuerCountry},
		Organization: []string{IssuerOrganisation},
		CommonName:   IssuerCommonName,
	}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, issuer, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("personcert: create certificate: %w", err)
	}
	return der, nil
}

// MarksignValue is der the way Marksign sends a certificate's value: the
// base64 of its base64.
func MarksignValue(der []byte) string {
	return base64.StdEncoding.EncodeToString([]byte(base64.StdEncoding.EncodeToString(der)))
}
