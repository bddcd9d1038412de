package client_test

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/aispend/aispend/collect/client"
)

func ExampleClient() {
	c, err := client.New(client.Config{
		URL:   "http://127.0.0.1:8080",
		Token: os.Getenv("AISPEND_TOKEN"),
	})
	if err != nil {
		log.Fatal(err)
	}

	// After each AI request: Log returns at once and never fails the request.
	start := time.Now()
	// ... call the model ...
	c.Log(client.Event{
		Service:         "QA_CHAT",
		Model:           "claude-sonnet-4-5",
		Provider:        "anthropic",
		InputTokens:     1200, // including cached tokens
		CacheReadTokens: 1000,
		OutputTokens:    300,
		Duration:        time.Since(start),
		UserID:          "user-42",
		Tags:            map[string]string{"feature": "search"},
	})

	// At shutdown: send what is buffered, for at most 10 seconds.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Close(ctx); err != nil {
		log.Printf("aispend: %v", err)
	}
	st := c.Stats()
	log.Printf("aispend: sent %d, dropped %d, rejected %d", st.Sent, st.Dropped, st.Rejected)
}
