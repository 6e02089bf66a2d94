package receiver_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/pollhook/pollhook/receiver"
)

func ExampleVerifier_Middleware() {
	// The secret pollhook's operator gave the app (pollhookctl prints it).
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwMfKQ9r8G"

	v, err := receiver.New(receiver.Options{Secrets: []string{secret}})
	if err != nil {
		panic(err)
	}
	handler := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, _ := receiver.MessageFrom(r.Context())
		body, _ := io.ReadAll(r.Body)
		fmt.Printf("handling %s: %s\n", m.ID, body)
		_, _ = io.WriteString(w, "ok")
	}))

	// What pollhook sends, signed here with the reference library.
	send := func(id, body, key string) {
		ts := time.Now()
		wh, _ := standardwebhooks.NewWebhook(key)
		sig, _ := wh.Sign(id, ts, []byte(body))
		r := httptest.NewRequest(http.MethodPost, "/webhooks/pollhook", strings.NewReader(body))
		r.Header.Set("webhook-id", id)
		r.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
		r.Header.Set("webhook-signature", sig)
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}
	body := `{"type":"session.succeeded","data":{}}`
	send("msg_1", body, secret)
	send("msg_1", body, secret) // a retry after a lost response
	send("msg_2", body, "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")

	// Output:
	// handling msg_1: {"type":"session.succeeded","data":{}}
	// 200 ok
	// 200 duplicate webhook-id: already processed
	// 401 receiver: no signature matches any key
}

// A subscriber with the ed25519 scheme (v1a) verifies with its public key,
// which pollhookctl subscribers secret prints; the private key never
// leaves pollhook.
func ExampleNew_publicKey() {
	// What pollhook sends, signed here with a fresh ed25519 key.
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	publicKey := "whpk_" + base64.StdEncoding.EncodeToString(pub)

	v, err := receiver.New(receiver.Options{PublicKeys: []string{publicKey}})
	if err != nil {
		panic(err)
	}
	body := []byte(`{"type":"session.succeeded","data":{}}`)
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	sig := ed25519.Sign(priv, []byte("msg_1."+ts+"."+string(body)))
	header := http.Header{}
	header.Set("webhook-id", "msg_1")
	header.Set("webhook-timestamp", ts)
	header.Set("webhook-signature", "v1a,"+base64.StdEncoding.EncodeToString(sig))

	m, err := v.Verify(header, body)
	fmt.Println(m.ID, err)
	_, err = v.Verify(header, []byte(`{"type":"session.failed","data":{}}`))
	fmt.Println(err)
	// Output:
	// msg_1 <nil>
	// receiver: no signature matches any key
}
