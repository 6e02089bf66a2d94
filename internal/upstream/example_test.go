package upstream_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"github.com/pollhook/pollhook/internal/upstream"
)

// ExampleNew polls a Smart-ID identification session at a stand-in for the
// Marksign gateway.
func ExampleNew() {
	gateway := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status": "ok", "country": "EE", "code": "60001017705", "name": "TEN", "surname": "TESTNUMBER",
			"control_code": "6223", "sanctions_data": [], "peps_data": []}`)
	}))
	defer gateway.Close()

	client, err := upstream.New(upstream.Config{
		Marksign: upstream.ProviderConfig{
			BaseURL:  gateway.URL,
			Accounts: upstream.Accounts{"default": "my-access-token"},
		},
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := client.Poll(context.Background(), upstream.Session{Target: upstream.Target{
		ID:         "0b7d3c1e-2f4a-4b6c-8d9e-0f1a2b3c4d5e",
		Provider:   upstream.ProviderMarksign,
		Flow:       upstream.FlowSmartIDIdentification,
		ExternalID: "381ed84f-0851-ce1e-a048-fa1e13a53bba",
		Locale:     "en",
	}})
	if err != nil {
		fmt.Println(err)
		return
	}
	id := res.Outcome.(*upstream.Identification)
	fmt.Println(res.State, res.State.Terminal(), id.GivenName, id.Surname, id.Country)
	// Output: succeeded true TEN TESTNUMBER EE
}
