package personcert

import (
	"crypto/x509"
	"encoding/base64"
	"math/big"
	"testing"
	"time"
)

func TestNew(t *testing.T) {
	t.Parallel()
	p := Person{Country: "EE", Surname: "TESTNUMBER", GivenName: "TEN", Code: "60001017705"}
	from, to := time.Date(2020, 11, 13, 0, 0, 0, 0, time.UTC), time.Date(2025, 11, 12, 23, 59, 59, 0, time.UTC)
	der, err := New(p, big.NewInt(42), from, to)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	if s := c.Subject; s.CommonName != "TESTNUMBER,TEN,60001017705" || s.SerialNumber != "PNOEE-60001017705" || s.Country[0] != "EE" {
		t.Errorf("subject = %+v", s)
	}
	if i := c.Issuer; i.CommonName != IssuerCommonName || i.Organization[0] != IssuerOrganisation || i.Country[0] != IssuerCountry {
		t.Errorf("issuer = %+v", i)
	}
	if c.SerialNumber.Int64() != 42 || !c.NotBefore.Equal(from) || !c.NotAfter.Equal(to) || c.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("serial %s, valid %s to %s, key usage %d", c.SerialNumber, c.NotBefore, c.NotAfter, c.KeyUsage)
	}

	outer, err := base64.StdEncoding.DecodeString(MarksignValue(der))
	if err != nil {
		t.Fatal(err)
	}
	if inner, err := base64.StdEncoding.DecodeString(string(outer)); err != nil || string(inner) != string(der) {
		t.Errorf("MarksignValue does not decode, twice, to the DER: %v", err)
	}
}
