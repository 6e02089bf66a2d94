package event_test

import (
	"encoding/json"
	"fmt"

	"github.com/pollhook/pollhook/event"
)

// Example decodes a verified webhook body.
func Example() {
	body := []byte(`{"type":"session.refused","timestamp":"2026-11-23T19:54:41.9Z","data":{
		"session_id":"3a141ae4-b3c5-42e0-bf28-7ea33b705ed1","provider":"marksign","flow":"smartid_hash_signing",
		"external_id":"5ce0b20d3df160f7","account":"default","app_ref":"order-42","state":"refused","outcome":null,
		"error":"40020: User refused or cancelled the operation",
		"registered_at":"2026-11-23T19:54:41.5Z","finished_at":"2026-11-23T19:54:41.9Z"}}`)
	var ev event.Event
	if err := json.Unmarshal(body, &ev); err != nil {
		panic(err)
	}
	switch ev.Type {
	case event.TypeSucceeded:
		fmt.Println("let the user in")
	case event.TypeRefused, event.TypeCancelled:
		fmt.Printf("%s: the user declined (%s)\n", *ev.Data.AppRef, ev.Data.Error)
	default:
		fmt.Printf("%s: %s\n", *ev.Data.AppRef, ev.Data.State)
	}
	// Output: order-42: the user declined (40020: User refused or cancelled the operation)
}

func ExampleTypeForState() {
	t, _ := event.TypeForState("expired")
	_, err := event.TypeForState("polling")
	fmt.Println(t)
	fmt.Println(err)
	// Output:
	// session.expired
	// event: state "polling" is not terminal
}
