package main

import "github.com/aispend/aispend/report/digest"

// digestRecipients are the addresses the digest goes to: digest.recipients, else mail.recipients.
func (c *Config) digestRecipients() []string {
	if len(c.Digest.Recipients) > 0 {
		return c.Digest.Recipients
	}
	return c.Mail.Recipients
}

// digestAttachment offers the workbook at path for the digest when digest.attach_workbook is
// on, capped at digest.attach_max_bytes; nil when attaching is off.
func (c *Config) digestAttachment(path string) (*digest.Attachment, error) {
	if !c.Digest.AttachWorkbook {
		return nil, nil
	}
	return digest.FileAttachment(path, c.Digest.AttachMaxBytes)
}
