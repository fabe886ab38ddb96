package postgres

import (
	"github.com/jackc/pgx/v5"
)

// Writers on several nodes lock what they read before changing it, with
// transaction-scoped advisory locks in two classes, executions then rollup
// rows. A key's lock is pg_advisory_xact_lock(hashtextextended(key, seed)):
// for an execution the key is workspace_id || '/' || execution_id and the
// seed 0, for a rollup row the key is workspace/tier/agent/bucket and the
// seed 1.
//
// PostgreSQL keeps advisory locks in its shared lock table, sized by
// max_locks_per_transaction (64 by default) times the connections: a
// commit of 50,000 events cannot hold a lock per execution. So each class
// also has a global lock. A transaction locking at most lockThreshold keys
// of a class takes the class's global lock shared and then each key;
// one locking more takes the global lock exclusively and no key. Small
// commits of different nodes thus run side by side unless they share a
// key; a large one runs alone in its class, as it would nearly anyway
// (every commit of a workspace changes its total rows).
//
// Every transaction takes its locks in one order: execution class (global
// lock, then keys by hash), then rollup class (likewise). LoadExecutions
// locks at its first call the executions of every new event the
// transaction has inserted, across workspaces, so the writer's one call
// per workspace takes all its execution locks in one sorted statement.
// Locks are never upgraded: a later call adds keys under the mode held.
const lockThreshold = 256

// The global lock of each class (outside the range hashes are likely to hit
// by more than chance).
const (
	execGlobalLock   int64 = 0x5368616457_0001 // "ShadW" + 1
	rollupGlobalLock int64 = 0x5368616457_0002
)

type lockMode int

const (
	lockNone lockMode = iota
	lockShared
	lockExclusive
)

// lockSet is what one transaction holds of one class.
type lockSet struct {
	global int64
	seed   int64
	mode   lockMode
	held   map[string]bool
}

func newLockSet(global, seed int64) lockSet {
	return lockSet{global: global, seed: seed}
}

// queue adds to b the statements that lock the n keys key(0), ...,
// key(n-1) not yet held, in order, and returns how many it added (each to
// be read with Exec). commit must be called once they have run. Over
// lockThreshold keys (duplicates counted) take the global lock
// exclusively, without making the keys.
func (l *lockSet) queue(b *pgx.Batch, n int, key func(int) string) (added int, commit func()) {
	if l.mode == lockExclusive || n == 0 {
		return 0, func() {}
	}
	if l.mode == lockNone && n > lockThreshold {
		b.Queue(`SELECT pg_advisory_xact_lock($1)`, l.global)
		return 1, func() { l.mode, l.held = lockExclusive, nil }
	}
	var need []string
	seen := make(map[string]bool, n)
	for i := range n {
		if k := key(i); !l.held[k] && !seen[k] {
			seen[k] = true
			need = append(need, k)
		}
	}
	if len(need) == 0 {
		return 0, func() {}
	}
	if l.mode == lockNone {
		b.Queue(`SELECT pg_advisory_xact_lock_shared($1)`, l.global)
		added++
	}
	b.Queue(`SELECT pg_advisory_xact_lock(h) FROM (
		SELECT DISTINCT hashtextextended(k, $2) AS h FROM unnest($1::text[]) AS k
	) AS keys ORDER BY h`, need, l.seed)
	added++
	return added, func() {
		l.mode = lockShared
		if l.held == nil {
			l.held = make(map[string]bool, len(need))
		}
		for _, k := range need {
			l.held[k] = true
		}
	}
}

// awaitLocks reads the results of the n lock statements queue added,
// returning once every lock is held.
func awaitLocks(br pgx.BatchResults, n int) error {
	for range n {
		if _, err := br.Exec(); err != nil {
			return err
		}
	}
	return nil
}

func execLockKey(ws, id string) string { return ws + "/" + id }
