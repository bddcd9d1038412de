package main

import (
	"errors"

	"github.com/aispend/aispend/report"
)

// newSender is replaced by the report/mail transport once that branch is merged.
func newSender(cfg *Config, env *environment) (report.Sender, error) {
	return nil, errors.New("mail transport not available in this build")
}
