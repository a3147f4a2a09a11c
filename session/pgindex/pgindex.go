// Package pgindex is Gatehouse's session index on PostgreSQL, for apps
// whose scs store is pgxstore: it satisfies session.IndexStore.
//
// It keeps three tables next to pgxstore's "sessions" table, created by
// [New] when missing:
//
//	gatehouse_session_index (handle, user_key, sid_key, ref, data, expiry)
//	gatehouse_ended         (ref, expiry)   the markers of ended sessions
//	gatehouse_once          (key, expiry)
//
// and the functions gatehouse_commit_session, gatehouse_put_session and
// gatehouse_end_session. A session read joins its marker into pgxstore's
// query (one round trip). A write, an index update and an end of one
// session take the same transaction-scoped advisory lock, and each
// statement in those functions sees what committed before it, so a
// request that loaded the session before it was ended cannot save it
// back. Expired rows are deleted by [Index.Cleanup], which New's
// CleanupInterval runs in the background.
package pgindex

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/alexedwards/scs/pgxstore"
	"github.com/alexedwards/scs/v2"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse-auth/gatehouse/session"
)

// Config configures an [Index].
type Config struct {
	// Pool is the connection pool the app's pgxstore uses. Required.
	Pool *pgxpool.Pool
	// CleanupInterval is how often expired index rows, markers and once
	// keys are deleted in the background. Default 5m. Negative: never
	// (call Cleanup yourself).
	CleanupInterval time.Duration
	// Logger receives cleanup failures. Default slog.Default().
	Logger *slog.Logger
}

// Index is the PostgreSQL session.IndexStore. It is safe for concurrent
// use. Close stops its cleanup.
type Index struct {
	pool *pgxpool.Pool
	log  *slog.Logger
	stop chan struct{}
	done chan struct{}
	once sync.Once
}

var _ session.IndexStore = (*Index)(nil)

const schema = `
CREATE TABLE IF NOT EXISTS sessions (
	token TEXT PRIMARY KEY,
	data BYTEA NOT NULL,
	expiry TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_expiry_idx ON sessions (expiry);
CREATE TABLE IF NOT EXISTS gatehouse_session_index (
	handle TEXT PRIMARY KEY,
	user_key TEXT NOT NULL,
	sid_key TEXT,
	ref TEXT NOT NULL,
	data BYTEA NOT NULL,
	expiry TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS gatehouse_session_index_user ON gatehouse_session_index (user_key);
CREATE INDEX IF NOT EXISTS gatehouse_session_index_sid ON gatehouse_session_index (sid_key) WHERE sid_key IS NOT NULL;
CREATE TABLE IF NOT EXISTS gatehouse_ended (
	ref TEXT PRIMARY KEY,
	expiry TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS gatehouse_once (
	key TEXT PRIMARY KEY,
	expiry TIMESTAMPTZ NOT NULL
);
CREATE OR REPLACE FUNCTION gatehouse_commit_session(p_token TEXT, p_ref TEXT, p_data BYTEA, p_expiry TIMESTAMPTZ)
RETURNS BOOLEAN LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	PERFORM pg_advisory_xact_lock(hashtextextended('gatehouse:' || p_ref, 0));
	IF EXISTS (SELECT 1 FROM gatehouse_ended WHERE ref = p_ref AND expiry > current_timestamp) THEN
		RETURN FALSE;
	END IF;
	INSERT INTO sessions (token, data, expiry) VALUES (p_token, p_data, p_expiry)
		ON CONFLICT (token) DO UPDATE SET data = EXCLUDED.data, expiry = EXCLUDED.expiry;
	RETURN TRUE;
END $$;
CREATE OR REPLACE FUNCTION gatehouse_put_session(p_handle TEXT, p_user TEXT, p_sid TEXT, p_ref TEXT, p_data BYTEA, p_expiry TIMESTAMPTZ)
RETURNS BOOLEAN LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	PERFORM pg_advisory_xact_lock(hashtextextended('gatehouse:' || p_ref, 0));
	IF EXISTS (SELECT 1 FROM gatehouse_ended WHERE ref = p_ref AND expiry > current_timestamp) THEN
		RETURN FALSE;
	END IF;
	INSERT INTO gatehouse_session_index (handle, user_key, sid_key, ref, data, expiry)
		VALUES (p_handle, p_user, NULLIF(p_sid, ''), p_ref, p_data, p_expiry)
		ON CONFLICT (handle) DO UPDATE SET user_key = EXCLUDED.user_key, sid_key = EXCLUDED.sid_key,
			ref = EXCLUDED.ref, data = EXCLUDED.data, expiry = EXCLUDED.expiry;
	RETURN TRUE;
END $$;
CREATE OR REPLACE FUNCTION gatehouse_end_session(p_handle TEXT, p_ref TEXT, p_until TIMESTAMPTZ)
RETURNS VOID LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	PERFORM pg_advisory_xact_lock(hashtextextended('gatehouse:' || p_ref, 0));
	INSERT INTO gatehouse_ended (ref, expiry) VALUES (p_ref, p_until)
		ON CONFLICT (ref) DO UPDATE SET expiry = GREATEST(gatehouse_ended.expiry, EXCLUDED.expiry);
	DELETE FROM gatehouse_session_index WHERE handle = p_handle;
END $$;
`

// New returns an Index for cfg and creates its tables and functions (and
// pgxstore's "sessions" table) when missing.
func New(ctx context.Context, cfg Config) (*Index, error) {
	if cfg.Pool == nil {
		return nil, errors.New("pgindex: Config.Pool is required")
	}
	if cfg.CleanupInterval == 0 {
		cfg.CleanupInterval = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	x := &Index{pool: cfg.Pool, log: cfg.Logger, stop: make(chan struct{}), done: make(chan struct{})}
	if err := x.migrate(ctx); err != nil {
		return nil, err
	}
	if cfg.CleanupInterval > 0 {
		go x.cleanupLoop(cfg.CleanupInterval)
	} else {
		close(x.done)
	}
	return x, nil
}

// migrate creates the schema under an advisory lock (concurrent CREATE …
// IF NOT EXISTS of one table can fail in PostgreSQL).
func (x *Index) migrate(ctx context.Context) error {
	tx, err := x.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgindex: create schema: %w", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(hashtextextended('gatehouse:schema', 0))"); err != nil {
		return fmt.Errorf("pgindex: create schema: %w", err)
	}
	if _, err := tx.Exec(ctx, schema); err != nil {
		return fmt.Errorf("pgindex: create schema: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgindex: create schema: %w", err)
	}
	return nil
}

// Close stops the background cleanup. It is safe to call more than once.
func (x *Index) Close() error {
	x.once.Do(func() {
		select {
		case <-x.done:
		default:
			close(x.stop)
		}
	})
	<-x.done
	return nil
}

func (x *Index) cleanupLoop(every time.Duration) {
	defer close(x.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-x.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			if err := x.Cleanup(ctx); err != nil {
				x.log.LogAttrs(ctx, slog.LevelWarn, "gatehouse: session index cleanup failed", slog.String("error", err.Error()))
			}
			cancel()
		}
	}
}

// Cleanup deletes expired index rows, markers and once keys.
func (x *Index) Cleanup(ctx context.Context) error {
	for _, q := range []string{
		"DELETE FROM gatehouse_session_index WHERE expiry < current_timestamp",
		"DELETE FROM gatehouse_ended WHERE expiry < current_timestamp",
		"DELETE FROM gatehouse_once WHERE expiry < current_timestamp",
	} {
		if _, err := x.pool.Exec(ctx, q); err != nil {
			return err
		}
	}
	return nil
}

// Check implements session.IndexStore: store must be a pgxstore on the
// same database as this Index. It writes a probe session through the
// store and reads it back directly.
func (x *Index) Check(ctx context.Context, store scs.Store) error {
	s, ok := store.(*pgxstore.PostgresStore)
	if !ok {
		return fmt.Errorf("%w: pgindex needs an scs pgxstore, not %T", session.ErrIndexStore, store)
	}
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	probe := "gatehouse-probe-" + hex.EncodeToString(b)
	if err := s.Commit(probe, []byte(probe), time.Now().Add(time.Minute)); err != nil {
		return fmt.Errorf("pgindex: probe the session store: %w", err)
	}
	defer func() { _ = s.Delete(probe) }()
	var got []byte
	err := x.pool.QueryRow(ctx, "SELECT data FROM sessions WHERE token = $1", probe).Scan(&got)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("pgindex: probe the session store: %w", err)
	}
	if string(got) != probe {
		return fmt.Errorf("%w: the pgxstore does not write to this index's database", session.ErrIndexStore)
	}
	return nil
}

// FindSession implements session.IndexStore: pgxstore's query with the
// marker check joined in.
func (x *Index) FindSession(ctx context.Context, key, ref string) ([]byte, bool, error) {
	var b []byte
	err := x.pool.QueryRow(ctx, `SELECT data FROM sessions WHERE token = $1 AND current_timestamp < expiry
		AND NOT EXISTS (SELECT 1 FROM gatehouse_ended WHERE ref = $2 AND expiry > current_timestamp)`, key, ref).Scan(&b)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// CommitSession implements session.IndexStore.
func (x *Index) CommitSession(ctx context.Context, key, ref string, b []byte, expiry time.Time) error {
	_, err := x.pool.Exec(ctx, "SELECT gatehouse_commit_session($1, $2, $3, $4)", key, ref, b, expiry)
	return err
}

// Put implements session.IndexStore.
func (x *Index) Put(ctx context.Context, e session.IndexEntry) error {
	_, err := x.pool.Exec(ctx, "SELECT gatehouse_put_session($1, $2, $3, $4, $5, $6)",
		e.Handle, e.UserKey, e.SIDKey, e.Ref, e.Data, e.Expiry)
	return err
}

// List implements session.IndexStore.
func (x *Index) List(ctx context.Context, key string) ([]session.IndexEntry, error) {
	col := "user_key"
	if len(key) > 2 && key[:2] == "s:" {
		col = "sid_key"
	}
	rows, err := x.pool.Query(ctx, `SELECT handle, user_key, COALESCE(sid_key, ''), ref, data, expiry
		FROM gatehouse_session_index WHERE `+col+` = $1 AND expiry > current_timestamp`, key)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []session.IndexEntry
	for rows.Next() {
		var e session.IndexEntry
		if err := rows.Scan(&e.Handle, &e.UserKey, &e.SIDKey, &e.Ref, &e.Data, &e.Expiry); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, rows.Err()
}

// End implements session.IndexStore.
func (x *Index) End(ctx context.Context, e session.IndexEntry) error {
	until := e.Deadline
	if min := time.Now().Add(time.Second); until.Before(min) {
		until = min
	}
	_, err := x.pool.Exec(ctx, "SELECT gatehouse_end_session($1, $2, $3)", e.Handle, e.Ref, until)
	return err
}

// Forget implements session.IndexStore.
func (x *Index) Forget(ctx context.Context, key string) error {
	_, err := x.pool.Exec(ctx, "DELETE FROM gatehouse_once WHERE key = $1", key)
	return err
}

// Once implements session.IndexStore.
func (x *Index) Once(ctx context.Context, key string, expiry time.Time) (bool, error) {
	var inserted bool
	err := x.pool.QueryRow(ctx, `INSERT INTO gatehouse_once (key, expiry) VALUES ($1, $2)
		ON CONFLICT (key) DO UPDATE SET expiry = EXCLUDED.expiry WHERE gatehouse_once.expiry <= current_timestamp
		RETURNING true`, key, expiry).Scan(&inserted)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return inserted, nil
}
