package mailtest_test

import (
	"fmt"
	"net"
	"net/smtp"
	"strings"
	"testing"
	"time"

	"github.com/aispend/aispend/collect/testkit/mailtest"
)

func send(addr, subject string) error {
	msg := "From: a@example.com\r\nTo: b@example.com\r\nMessage-ID: <" + subject + "@example.com>\r\nSubject: " + subject +
		"\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n<p>" + subject + "</p>\r\n"
	return smtp.SendMail(addr, nil, "a@example.com", []string{"b@example.com"}, []byte(msg))
}

// Ensure the harness lists, reads and deletes messages, and survives Stop and Restart on the
// same ports with its messages kept.
func TestServer(t *testing.T) {
	srv := mailtest.Start(t)
	if srv.SMTPHost != "127.0.0.1" || srv.SMTPPort == 0 || !strings.HasPrefix(srv.APIURL, "http://127.0.0.1:") {
		t.Fatalf("server %+v", srv)
	}
	for i := 1; i <= 2; i++ {
		if err := send(srv.Addr(), fmt.Sprintf("m%d", i)); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	list := srv.WaitFor(t, 2, 30*time.Second)
	if len(list) != 2 || list[0].Subject != "m1" || list[1].Subject != "m2" || list[0].MessageID != "m1@example.com" ||
		list[0].From.Address != "a@example.com" || len(list[0].To) != 1 || list[0].To[0].Address != "b@example.com" {
		t.Fatalf("messages %+v", list)
	}
	d := srv.Message(t, list[1].ID)
	if strings.TrimSpace(d.HTML) != "<p>m2</p>" || d.Headers["Subject"][0] != "m2" || !strings.Contains(string(d.Raw), "Subject: m2") {
		t.Errorf("detail %+v", d)
	}

	srv.Stop()
	if err := send(srv.Addr(), "down"); err == nil {
		t.Fatal("send to a stopped server succeeded")
	}
	if c, err := net.DialTimeout("tcp", srv.Addr(), time.Second); err == nil {
		c.Close()
		t.Fatal("SMTP port still open after Stop")
	}
	srv.Stop() // idempotent
	srv.Restart(t)
	if err := send(srv.Addr(), "m3"); err != nil {
		t.Fatalf("send after restart: %v", err)
	}
	if list := srv.WaitFor(t, 3, 30*time.Second); list[2].Subject != "m3" {
		t.Fatalf("after restart %+v", list)
	}

	srv.DeleteAll(t)
	if n := len(srv.Messages(t)); n != 0 {
		t.Fatalf("%d messages after DeleteAll", n)
	}
}
