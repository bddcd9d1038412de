package publish

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Defaults and limits of S3Config.
const (
	DefaultRegion        = "us-east-1"
	DefaultPresignExpiry = 7 * 24 * time.Hour
	MaxPresignExpiry     = 7 * 24 * time.Hour // the SigV4 limit
	DefaultMaxRetries    = 3
	DefaultAttempts      = 4
	DefaultBackoff       = time.Second
	maxBackoff           = 10 * time.Second
)

// S3Config configures an S3-compatible target (AWS S3, MinIO, Ceph RGW, versitygw, …).
type S3Config struct {
	// Endpoint is http(s)://host[:port]; a bare host[:port] means https. http:// turns TLS off.
	Endpoint string
	// PublicEndpoint, when readers reach storage on another address than this process (an
	// internal name, a proxy), is the endpoint presigned links are signed for. Optional.
	PublicEndpoint string
	// Region is always sent: with it the client never asks the server for the bucket's location,
	// and presigning needs no network. Default us-east-1.
	Region string
	// PathStyle forces bucket-in-path addressing. Otherwise the client picks: virtual-host style
	// on AWS and Google endpoints, path style everywhere else.
	PathStyle bool
	AccessKey string
	SecretKey string

	Bucket string
	Prefix string // key prefix inside the bucket, no slashes at either end; may be empty

	// PublicURL, when set, is where the site root (bucket + prefix) is served publicly; URL then
	// returns PublicURL + key and pages are cached publicly. Empty: presigned links.
	PublicURL string
	// PresignExpiry is how long a presigned link works; default and maximum 7 days.
	PresignExpiry time.Duration

	// MaxRetries is minio-go's own retry count for one request (5xx, throttling, connection
	// errors, 200 ms…1 s back-off). Default DefaultMaxRetries.
	MaxRetries int
	// Attempts and Backoff bound our retry loop around each operation, which rides out outages
	// longer than minio-go's few seconds of retries: Backoff doubles up to 10 s between attempts.
	// Defaults DefaultAttempts and DefaultBackoff.
	Attempts int
	Backoff  time.Duration

	Transport http.RoundTripper // optional
	Logger    *slog.Logger      // optional: retries are logged here at Warn
}

// S3 publishes to a bucket under a prefix.
type S3 struct {
	client    *minio.Client
	presigner *minio.Client // configured with the public endpoint when there is one
	bucket    string
	prefix    string
	publicURL string
	expiry    time.Duration
	attempts  int
	backoff   time.Duration
	log       *slog.Logger
}

// NewS3 checks cfg and builds the clients. It makes no network request.
func NewS3(cfg S3Config) (*S3, error) {
	var missing []string
	for _, m := range []struct{ v, name string }{
		{cfg.Endpoint, "endpoint"}, {cfg.AccessKey, "access key"}, {cfg.SecretKey, "secret key"}, {cfg.Bucket, "bucket"},
	} {
		if strings.TrimSpace(m.v) == "" {
			missing = append(missing, m.name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("s3 target: missing %s", strings.Join(missing, ", "))
	}
	if err := checkPublicURL(cfg.PublicURL); err != nil {
		return nil, fmt.Errorf("s3 target: %w", err)
	}
	cfg.Prefix = strings.Trim(cfg.Prefix, "/")
	if cfg.Prefix != "" {
		if err := CheckKey(cfg.Prefix); err != nil {
			return nil, fmt.Errorf("s3 target: prefix: %w", err)
		}
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	switch {
	case cfg.PresignExpiry == 0:
		cfg.PresignExpiry = DefaultPresignExpiry
	case cfg.PresignExpiry < time.Second || cfg.PresignExpiry > MaxPresignExpiry:
		return nil, fmt.Errorf("s3 target: presign expiry %s: want 1s to 168h (7 days)", cfg.PresignExpiry)
	}
	if cfg.MaxRetries <= 0 {
		cfg.MaxRetries = DefaultMaxRetries
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = DefaultAttempts
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultBackoff
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client, err := newClient(cfg, cfg.Endpoint)
	if err != nil {
		return nil, fmt.Errorf("s3 target: endpoint: %w", err)
	}
	presigner := client
	if cfg.PublicEndpoint != "" && cfg.PublicEndpoint != cfg.Endpoint {
		if presigner, err = newClient(cfg, cfg.PublicEndpoint); err != nil {
			return nil, fmt.Errorf("s3 target: public endpoint: %w", err)
		}
	}
	return &S3{client: client, presigner: presigner, bucket: cfg.Bucket, prefix: cfg.Prefix,
		publicURL: cfg.PublicURL, expiry: cfg.PresignExpiry, attempts: cfg.Attempts, backoff: cfg.Backoff, log: log}, nil
}

func newClient(cfg S3Config, endpoint string) (*minio.Client, error) {
	host, secure, err := parseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	return minio.New(host, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, ""),
		Secure:       secure,
		Region:       cfg.Region,
		BucketLookup: lookup,
		MaxRetries:   cfg.MaxRetries,
		Transport:    cfg.Transport,
	})
}

// parseEndpoint turns "http://host:port" into host:port and secure=false; https or no scheme is
// secure. A path would be silently dropped by the client, so it is refused.
func parseEndpoint(e string) (host string, secure bool, err error) {
	raw := e
	if !strings.Contains(e, "://") {
		e = "https://" + e
	}
	u, err := url.Parse(e)
	if err != nil {
		return "", false, fmt.Errorf("%q: %w", raw, err)
	}
	switch u.Scheme {
	case "http":
	case "https":
		secure = true
	default:
		return "", false, fmt.Errorf("%q: want http:// or https://", raw)
	}
	if u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
		return "", false, fmt.Errorf("%q: want scheme://host[:port] only", raw)
	}
	return u.Host, secure, nil
}

// Bucket and Prefix say where the site lives.
func (s *S3) Bucket() string { return s.bucket }
func (s *S3) Prefix() string { return s.prefix }

// ObjectKey is the bucket key for a site key.
func (s *S3) ObjectKey(key string) string {
	if s.prefix == "" {
		return key
	}
	return s.prefix + "/" + key
}

// Put uploads body with its real size (minio-go buffers whole parts in memory when the size is
// unknown), the content type and cache header. A body that is an io.Seeker (bytes.Reader,
// os.File; positioned at its start) is sent again on a transient failure; any other body (a
// pipe) gets one attempt.
func (s *S3) Put(ctx context.Context, key string, body io.Reader, size int64, contentType string) error {
	if err := CheckKey(key); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	if size < 0 {
		return fmt.Errorf("put %s: size must be known (got %d)", key, size)
	}
	if contentType == "" {
		contentType = ContentType(key)
	}
	opts := minio.PutObjectOptions{ContentType: contentType, CacheControl: CacheControl(key, s.publicURL != "")}
	// minio-go reads a seekable body again from its start on every attempt; any other body is
	// consumed by the first one.
	_, repeatable := body.(io.Seeker)
	err := s.retry(ctx, "put", key, repeatable, func() error {
		_, err := s.client.PutObject(ctx, s.bucket, s.ObjectKey(key), body, size, opts)
		return err
	})
	if err != nil {
		return fmt.Errorf("put s3://%s/%s: %w", s.bucket, s.ObjectKey(key), err)
	}
	return nil
}

// URL is PublicURL + key when configured, otherwise a presigned GET valid for PresignExpiry,
// signed for the public endpoint when one is configured. Presigning needs no network.
func (s *S3) URL(ctx context.Context, key string) (string, error) {
	if err := CheckKey(key); err != nil {
		return "", fmt.Errorf("url %s: %w", key, err)
	}
	if s.publicURL != "" {
		return joinURL(s.publicURL, key), nil
	}
	u, err := s.presigner.PresignedGetObject(ctx, s.bucket, s.ObjectKey(key), s.expiry, nil)
	if err != nil {
		return "", fmt.Errorf("presign s3://%s/%s: %w", s.bucket, s.ObjectKey(key), err)
	}
	return u.String(), nil
}

// Exists asks the server for the object's metadata.
func (s *S3) Exists(ctx context.Context, key string) (bool, error) {
	if err := CheckKey(key); err != nil {
		return false, fmt.Errorf("exists %s: %w", key, err)
	}
	found := false
	err := s.retry(ctx, "stat", key, true, func() error {
		_, err := s.client.StatObject(ctx, s.bucket, s.ObjectKey(key), minio.StatObjectOptions{})
		if err == nil {
			found = true
			return nil
		}
		var er minio.ErrorResponse
		if errors.As(err, &er) && (er.StatusCode == http.StatusNotFound || er.Code == "NoSuchKey") {
			return nil
		}
		return err
	})
	if err != nil {
		return false, fmt.Errorf("stat s3://%s/%s: %w", s.bucket, s.ObjectKey(key), err)
	}
	return found, nil
}

// List returns the site keys (without the bucket prefix) that start with prefix, sorted.
func (s *S3) List(ctx context.Context, prefix string) ([]string, error) {
	full := s.ObjectKey(prefix)
	if prefix == "" && s.prefix != "" {
		full = s.prefix + "/"
	}
	var keys []string
	err := s.retry(ctx, "list", prefix, true, func() error {
		keys = keys[:0]
		lctx, cancel := context.WithCancel(ctx)
		defer cancel() // stops the listing goroutine when we return early
		for obj := range s.client.ListObjects(lctx, s.bucket, minio.ListObjectsOptions{Prefix: full, Recursive: true}) {
			if obj.Err != nil {
				return obj.Err
			}
			k := obj.Key
			if s.prefix != "" {
				k = strings.TrimPrefix(k, s.prefix+"/")
			}
			keys = append(keys, k)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list s3://%s/%s: %w", s.bucket, full, err)
	}
	slices.Sort(keys)
	return keys, nil
}

// retry runs op until it succeeds, fails permanently, ctx ends or the attempts run out, pausing
// with doubling back-off. repeatable is false when op cannot be sent again (its body is spent).
func (s *S3) retry(ctx context.Context, what, key string, repeatable bool, op func() error) error {
	wait := s.backoff
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil || !repeatable || attempt >= s.attempts || !transient(ctx, err) {
			return err
		}
		s.log.Warn("s3 request failed, retrying", "op", what, "key", key, "attempt", attempt, "wait", wait, "error", err)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, maxBackoff)
	}
}

// transient says whether err may go away by itself: connection failures and server-side
// errors. Client errors (denied, no such bucket, bad request) and TLS trust failures do not.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		switch {
		case er.StatusCode >= 500 && er.StatusCode != http.StatusNotImplemented, er.StatusCode == http.StatusRequestTimeout, er.StatusCode == http.StatusTooManyRequests:
			return true
		case er.StatusCode == 0:
			// No HTTP status: the request never got an answer.
		default:
			return false
		}
	}
	var unknownCA x509.UnknownAuthorityError
	var badCert x509.CertificateInvalidError
	var badHost x509.HostnameError
	if errors.As(err, &unknownCA) || errors.As(err, &badCert) || errors.As(err, &badHost) ||
		strings.Contains(err.Error(), "server gave HTTP response to HTTPS client") {
		return false
	}
	return true
}
