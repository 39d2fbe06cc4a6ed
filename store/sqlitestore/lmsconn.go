package sqlitestore

import (
	"context"

	"github.com/hubsync/hubsync"
	"github.com/hubsync/hubsync/store/sqlstore"
)

// This file is the executor's half of hubsync.LMSConnections (each school's stored LearnWorlds
// connection); the engine-facing logic, sealing included, is package sqlstore's.

var _ hubsync.LMSConnections = (*Store)(nil)

var (
	putLMSConnectionSQL = sqlText(`INSERT OR REPLACE INTO {p}lms_connections (school, base_url, client_id,
			client_secret, access_token, webhook_secret, webhook_scheme, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	getLMSConnectionSQL = sqlText(`SELECT base_url, client_id, client_secret, access_token, webhook_secret,
			webhook_scheme, updated_at FROM {p}lms_connections WHERE school = ?`)
	deleteLMSConnectionSQL = sqlText(`DELETE FROM {p}lms_connections WHERE school = ?`)
)

func (x *executor) LMSConnectionPut(ctx context.Context, r sqlstore.LMSConnectionRow) error {
	_, err := x.exec(ctx, putLMSConnectionSQL, r.School, r.BaseURL, r.ClientID, r.ClientSecret,
		r.AccessToken, r.WebhookSecret, r.WebhookScheme, ns(r.UpdatedAt))
	return err
}

func (x *executor) LMSConnectionGet(ctx context.Context, school string) (sqlstore.LMSConnectionRow, error) {
	r := sqlstore.LMSConnectionRow{School: school}
	var updated int64
	err := x.reader().QueryRowContext(ctx, x.sql(getLMSConnectionSQL), school).Scan(&r.BaseURL, &r.ClientID,
		&r.ClientSecret, &r.AccessToken, &r.WebhookSecret, &r.WebhookScheme, &updated)
	if err != nil {
		return sqlstore.LMSConnectionRow{}, noRows(err)
	}
	r.UpdatedAt = fromNS(updated)
	return r, nil
}

func (x *executor) LMSConnectionDelete(ctx context.Context, school string) error {
	_, err := x.exec(ctx, deleteLMSConnectionSQL, school)
	return err
}
