package main

// digestRecipients are the addresses the digest goes to: digest.recipients, else mail.recipients.
func (c *Config) digestRecipients() []string {
	if len(c.Digest.Recipients) > 0 {
		return c.Digest.Recipients
	}
	return c.Mail.Recipients
}
