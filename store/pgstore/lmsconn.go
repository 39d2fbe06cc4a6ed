package pgstore

import (
	"context"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/sqlstore"
)

// This file is the executor's half of hubsync.LMSConnections (each school's stored LearnWorlds
// connection); the engine-facing logic, sealing included, is package sqlstore's.

var _ hubsync.LMSConnections = (*Store)(nil)

var putLMSConnectionSQL = sqlStmt(`INSERT INTO {schema}.lms_connections (school, base_url, client_id, client_secret,
			access_token, webhook_secret, webhook_scheme, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (school) DO UPDATE SET base_url = EXCLUDED.base_url, client_id = EXCLUDED.client_id,
			client_secret = EXCLUDED.client_secret, access_token = EXCLUDED.access_token,
			webhook_secret = EXCLUDED.webhook_secret, webhook_scheme = EXCLUDED.webhook_scheme,
			updated_at = EXCLUDED.updated_at`)

func (x *executor) LMSConnectionPut(ctx context.Context, r sqlstore.LMSConnectionRow) error {
	_, err := x.db.Exec(ctx, x.sql(putLMSConnectionSQL), r.School, r.BaseURL, r.ClientID, r.ClientSecret,
		r.AccessToken, r.WebhookSecret, r.WebhookScheme, r.UpdatedAt)
	return err
}

var getLMSConnectionSQL = sqlStmt(`SELECT base_url, client_id, client_secret, access_token, webhook_secret,
			webhook_scheme, updated_at
		FROM {schema}.lms_connections WHERE school = $1`)

func (x *executor) LMSConnectionGet(ctx context.Context, school string) (sqlstore.LMSConnectionRow, error) {
	r := sqlstore.LMSConnectionRow{School: school}
	err := x.db.QueryRow(ctx, x.sql(getLMSConnectionSQL), school).Scan(&r.BaseURL, &r.ClientID, &r.ClientSecret,
		&r.AccessToken, &r.WebhookSecret, &r.WebhookScheme, &r.UpdatedAt)
	if err != nil {
		return sqlstore.LMSConnectionRow{}, noRows(err)
	}
	r.UpdatedAt = r.UpdatedAt.UTC()
	return r, nil
}

var deleteLMSConnectionSQL = sqlStmt(`DELETE FROM {schema}.lms_connections WHERE school = $1`)

func (x *executor) LMSConnectionDelete(ctx context.Context, school string) error {
	_, err := x.db.Exec(ctx, x.sql(deleteLMSConnectionSQL), school)
	return err
}
