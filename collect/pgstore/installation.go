package pgstore

import (
	"context"
	_ "embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed sql/installation_id.sql
var qInstallationID string

// InstallationID is this installation's id, drawn once with the schema (migration 00013): what
// makes its Message-IDs differ from those of every other installation (report.MessageID).
func InstallationID(ctx context.Context, pool *pgxpool.Pool) (string, error) {
	var id string
	err := pool.QueryRow(ctx, qInstallationID).Scan(&id)
	if pe := (*pgconn.PgError)(nil); errors.As(err, &pe) && pe.Code == "42P01" {
		return "", errors.New("read the installation id: the schema is older than this version (run `aispend migrate`)")
	}
	if err != nil {
		return "", fmt.Errorf("read the installation id: %w", err)
	}
	return id, nil
}
