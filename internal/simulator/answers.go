package simulator

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/big"
	"time"

	"github.com/pollhook/pollhook/internal/simulator/personcert"
)

// answer is one HTTP answer of the simulator.
type answer struct {
	status int
	header map[string]string
	body   []byte
}

func jsonAnswer(status int, v any) answer {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("simulator: marshal answer: %v", err)) // only fixed shapes are marshalled
	}
	return answer{status: status, header: map[string]string{"Content-Type": "application/json"}, body: b}
}

func textAnswer(status int, body string, header map[string]string) answer {
	h := map[string]string{"Content-Type": "text/plain; charset=utf-8"}
	for k, v := range header {
		h[k] = v
	}
	return answer{status: status, header: h, body: []byte(body)}
}

// malformedAnswer is a 200 whose JSON body is cut short.
func malformedAnswer(fortID bool) answer {
	body := `{"status": "wai`
	if fortID {
		body = `{"verificationSessionStatus": "IN_PROG`
	}
	return answer{status: 200, header: map[string]string{"Content-Type": "application/json"}, body: []byte(body)}
}

// The test person of the success bodies (SK's public test identity).
const (
	personCountry   = "EE"
	personCode      = "60001017705"
	personGivenName = "TEN"
	personSurname   = "TESTNUMBER"
)

// certificate is the person's authentication certificate in the form
// Marksign sends it.
type certificate struct {
	Name    string `json:"name"`
	Subject struct {
		Country          string  `json:"country"`
		Organisation     *string `json:"organisation"`
		OrganisationUnit *string `json:"organisation_unit"`
		CommonName       string  `json:"common_name"`
		Surname          string  `json:"surname"`
		Name             string  `json:"name"`
		SerialNumber     string  `json:"serial_number"`
	} `json:"subject"`
	Issuer struct {
		Country      string `json:"country"`
		Organisation string `json:"organisation"`
		CommonName   string `json:"common_name"`
	} `json:"issuer"`
	ValidFrom string `json:"valid_from"`
	ValidTo   string `json:"valid_to"`
	Value     string `json:"value"`
}

// person is the test person as a certificate subject.
var person = personcert.Person{Country: personCountry, Surname: personSurname, GivenName: personGivenName, Code: personCode}

// newCertificate makes a real X.509 certificate for the test person, signed
// by a throwaway key. Its value is, like Marksign's, the base64 of the
// base64 DER.
func newCertificate() (certificate, error) {
	notBefore := time.Now().UTC().Truncate(24*time.Hour).AddDate(-1, 0, 0)
	notAfter := notBefore.AddDate(5, 0, 0)
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return certificate{}, err
	}
	der, err := personcert.New(person, serial, notBefore, notAfter)
	if err != nil {
		return certificate{}, err
	}
	c := certificate{
		Name:      fmt.Sprintf("/C=%s/CN=%s/SN=%s/GN=%s/serialNumber=%s", personCountry, person.CommonName(), personSurname, personGivenName, person.SerialNumber()),
		ValidFrom: notBefore.Format(time.DateOnly),
		ValidTo:   notAfter.Format(time.DateOnly),
		Value:     personcert.MarksignValue(der),
	}
	c.Subject.Country = personCountry
	c.Subject.CommonName = person.CommonName()
	c.Subject.Surname = personSurname
	c.Subject.Name = personGivenName
	c.Subject.SerialNumber = person.SerialNumber()
	c.Issuer.Country = personcert.IssuerCountry
	c.Issuer.Organisation = personcert.IssuerOrganisation
	c.Issuer.CommonName = personcert.IssuerCommonName
	return c, nil
}

// digestOf derives stable pseudo-random bytes from id.
func digestOf(parts ...string) [32]byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return sum
}

// marksignIdentification is the success body of an identification flow.
func (s *Simulator) marksignIdentification(token string) answer {
	d := digestOf("control", token)
	// A struct keeps the seed sample's member order.
	return jsonAnswer(200, struct {
		Status        string      `json:"status"`
		Country       string      `json:"country"`
		Certificate   certificate `json:"certificate"`
		Code          string      `json:"code"`
		Name          string      `json:"name"`
		Token         string      `json:"token"`
		ControlCode   string      `json:"control_code"`
		Surname       string      `json:"surname"`
		SanctionsData []any       `json:"sanctions_data"`
		PEPsData      []any       `json:"peps_data"`
	}{"ok", personCountry, s.cert, personCode, personGivenName, token,
		fmt.Sprintf("%04d", binary.BigEndian.Uint16(d[:2])%10000), personSurname, []any{}, []any{}})
}

// signedPDF is the content of the signed file of the signing bodies.
var signedPDF = []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")

// marksignSignature is the success body of a signing flow.
func marksignSignature(token string) answer {
	d := digestOf("signature", token)
	digest := sha256.Sum256(signedPDF)
	return jsonAnswer(200, map[string]any{
		"status":       "ok",
		"signature_id": formatUUID(d[:16]),
		"file": map[string]any{
			"name":    "document.pdf",
			"content": base64.StdEncoding.EncodeToString(signedPDF),
			"digest":  base64.StdEncoding.EncodeToString(digest[:]),
		},
		"person": map[string]any{
			"name":    personGivenName,
			"surname": personSurname,
			"code":    personCode,
			"country": personCountry,
		},
	})
}

// marksignError is an error body sent with HTTP status code/100.
func marksignError(code int, message string) answer {
	status := code / 100
	if status < 400 || status > 599 {
		status = 400
	}
	return jsonAnswer(status, struct {
		Status    string `json:"status"`
		Message   string `json:"message"`
		ErrorCode int    `json:"error_code"`
	}{"error", message, code})
}

// marksignMessages are the messages of the error codes the simulator sends.
var marksignMessages = map[int]string{
	40001: "Invalid parameters",
	40003: "Invalid access token",
	40020: "User refused or cancelled the operation",
	40021: "Session expired before the user confirmed",
	40022: "Document is corrupted",
	40401: "User not found",
	40402: "Session for given token was not found",
	50000: "Processing issue",
}

// fortIDSucceeded is FortID's success body, the claims of the seed page.
func fortIDSucceeded() answer {
	return jsonAnswer(200, struct {
		Status string         `json:"verificationSessionStatus"`
		Claims map[string]any `json:"presentedClaims"`
	}{
		"VERIFICATION_SUCCEEDED",
		map[string]any{
			"name": "John",
			"age":  27,
			"address": map[string]any{
				"street":     "Baker Street",
				"postalCode": "NW1",
			},
			"nationalities": []string{"UK"},
		},
	})
}

func fortIDStatus(status string) answer {
	return jsonAnswer(200, map[string]any{"verificationSessionStatus": status})
}

func fortIDMessage(status int, message string) answer {
	return jsonAnswer(status, map[string]any{"message": message})
}
