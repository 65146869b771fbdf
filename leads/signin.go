package leads

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/netip"
	"runtime"
	"slices"
	"strings"
	"time"
)

// SignInLimits bound the passwords checked within Window: for one account
// from one client address, for one address over all accounts, and for one
// account from every address together. An attempt counts from before its
// password is hashed until it leaves the window. A successful sign-in does
// not count, and clears the failures of its account from its address.
type SignInLimits struct {
	AccountAddress int
	Address        int
	Account        int
	Window         time.Duration
}

// DefaultSignInLimits: 5 tries at one account from one address, 20 from
// one address, 100 at one account, in 15 minutes. Locking an account's
// owner out takes 20 addresses; guessing from one address gets 80 tries an
// hour.
var DefaultSignInLimits = SignInLimits{AccountAddress: 5, Address: 20, Account: 100, Window: 15 * time.Minute}

func (l SignInLimits) orDefault() SignInLimits {
	d := DefaultSignInLimits
	if l.AccountAddress <= 0 {
		l.AccountAddress = d.AccountAddress
	}
	if l.Address <= 0 {
		l.Address = d.Address
	}
	if l.Account <= 0 {
		l.Account = d.Account
	}
	if l.Window <= 0 {
		l.Window = d.Window
	}
	return l
}

// DefaultHashes is the number of argon2id computations run at once unless
// set: the core count, at most 2. The cap is for memory, not time: each
// hash holds 19 MiB, and the collector lets as much again wait as garbage,
// so a slot costs about 40 MiB at the peak of a flood. Two slots still
// check some 60 passwords a second, far more than honest staff need.
func DefaultHashes() int { return min(runtime.NumCPU(), 2) }

func (s *Store) setSignIn(opts Options) {
	s.signIn = opts.SignIn.orDefault()
	n := opts.Hashes
	if n <= 0 {
		n = DefaultHashes()
	}
	s.hashSlots = make(chan struct{}, n)
	s.hashWait = opts.HashWait
	if s.hashWait <= 0 {
		s.hashWait = time.Second
	}
	s.check = opts.CheckPassword
	if s.check == nil {
		s.check = CheckPassword
	}
}

// SignInKeep is how long failed attempts at an existing account are kept,
// with a masked address, for the notice its owner sees.
const SignInKeep = 30 * 24 * time.Hour

// accountKey is how an attempt names its account: the SHA-256 of the typed
// email, so an unknown email is counted exactly like a real one and the
// table holds no typed text.
func accountKey(email string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email))))
	return hex.EncodeToString(sum[:])
}

// addressKey is the throttle's name for a client address: the address
// itself for IPv4, the /64 for IPv6, since one subscriber usually holds a
// whole /64.
func addressKey(address string) string {
	ip, err := netip.ParseAddr(address)
	if err != nil {
		if address == "" {
			return "unknown"
		}
		return "?" + truncate(address, 64)
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		return ip.String()
	}
	return netip.PrefixFrom(ip, 64).Masked().String()
}

// maskAddress is what the account's owner is shown: the /24 of an IPv4
// address (203.0.113.x), the /48 of an IPv6 one: enough to tell the office
// from elsewhere, too little to point at a person.
func maskAddress(address string) string {
	ip, err := netip.ParseAddr(address)
	if err != nil {
		return "an unknown address"
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is4() {
		b := ip.As4()
		return fmt.Sprintf("%d.%d.%d.x", b[0], b[1], b[2])
	}
	return netip.PrefixFrom(ip, 48).Masked().String()
}

// Messages of the refusals; one text for every limit, so the answer does
// not tell whether an account exists.
const (
	msgSignInLimit = "Too many failed sign-ins. Please wait a few minutes and try again."
	msgHashBusy    = "Signing in is busy just now. Please try again in a moment."
)

// hashSlot waits up to the store's HashWait for one of the argon2id slots
// and returns its release; a sign-in that cannot get one soon is refused
// with EUNAVAILABLE instead of queueing, since every waiting hash would
// soon hold 19 MiB.
func (s *Store) hashSlot(ctx context.Context) (func(), error) {
	release := func() { <-s.hashSlots }
	select {
	case s.hashSlots <- struct{}{}:
		return release, nil
	default:
	}
	t := time.NewTimer(s.hashWait)
	defer t.Stop()
	select {
	case s.hashSlots <- struct{}{}:
		return release, nil
	case <-t.C:
		return nil, &Error{Code: EUNAVAILABLE, Message: msgHashBusy, Retry: s.hashWait + time.Second}
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// hash runs HashPassword under the cap.
func (s *Store) hash(ctx context.Context, password string) (string, error) {
	release, err := s.hashSlot(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return HashPassword(password, s.pw)
}

// reservation is an attempt counted before its password is checked, and
// the account it names (ID 0 when there is none).
type reservation struct {
	id      int64
	account string
	address string
	staff   Staff
	hash    string
}

const countedStatus = `status IN ('pending', 'failed')`

// signInWait returns how long until an attempt for r's account and
// address is within every limit again: 0 when it is now.
func (s *Store) signInWait(ctx context.Context, q queryer, r *reservation, now time.Time) (time.Duration, error) {
	lim := s.signIn
	since := formatTime(now.Add(-lim.Window))
	limits := []struct {
		where string
		args  []any
		max   int
	}{
		{`account = ? AND address = ?`, []any{r.account, r.address}, lim.AccountAddress},
		{`address = ?`, []any{r.address}, lim.Address},
		{`account = ?`, []any{r.account}, lim.Account},
	}
	var wait time.Duration
	for _, l := range limits {
		// The max-th newest counted attempt: when it leaves the window, the
		// key is under its limit again.
		var at string
		err := q.QueryRowContext(ctx, `SELECT at FROM sign_in_attempts WHERE `+l.where+` AND at > ? AND `+countedStatus+`
			ORDER BY at DESC LIMIT 1 OFFSET ?`, append(l.args, since, l.max-1)...).Scan(&at)
		if isNoRows(err) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("leads: sign-in limits: %w", err)
		}
		t, err := parseTime(at)
		if err != nil {
			return 0, err
		}
		wait = max(wait, t.Add(lim.Window).Sub(now), time.Second)
	}
	return wait, nil
}

// reserveSignIn counts an attempt against the limits, in the same write
// that checks them: two attempts can never both see the last free place.
// An attempt that the read pool already shows over a limit is refused
// without a write, so a flood of refusals does not occupy the writer.
func (s *Store) reserveSignIn(ctx context.Context, email, address string) (*reservation, error) {
	r := &reservation{account: accountKey(email), address: addressKey(address)}
	shown := maskAddress(address)
	wait, err := s.signInWait(ctx, s.r, r, s.now())
	if err != nil {
		return nil, err
	}
	if wait > 0 {
		return nil, &Error{Code: ETOOMANY, Message: msgSignInLimit, Retry: wait}
	}
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.now()
		// Lock the keys, always in the same order, before counting.
		keys := []string{"account:" + r.account, "address:" + r.address}
		slices.Sort(keys)
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `INSERT INTO sign_in_keys (key, touched_at) VALUES (?, ?)
				ON CONFLICT (key) DO UPDATE SET touched_at = excluded.touched_at`, k, formatTime(now)); err != nil {
				return fmt.Errorf("leads: reserve sign-in: lock: %w", err)
			}
		}
		var created, updated string
		r.staff, r.hash = Staff{}, ""
		err := tx.QueryRowContext(ctx, `SELECT id, email, role, password_hash, created_at, updated_at FROM staff WHERE `+s.d.emailKey("email")+` = ?`, asciiLower(email)).
			Scan(&r.staff.ID, &r.staff.Email, &r.staff.Role, &r.hash, &created, &updated)
		if err != nil && !isNoRows(err) {
			return fmt.Errorf("leads: reserve sign-in: account: %w", err)
		}
		if err == nil {
			if r.staff.CreatedAt, err = parseTime(created); err != nil {
				return err
			}
			if r.staff.UpdatedAt, err = parseTime(updated); err != nil {
				return err
			}
		}
		wait, err := s.signInWait(ctx, tx, r, now)
		if err != nil {
			return err
		}
		if wait > 0 {
			return &Error{Code: ETOOMANY, Message: msgSignInLimit, Retry: wait}
		}
		var staffID sql.NullInt64
		if r.staff.ID != 0 {
			staffID = sql.NullInt64{Int64: r.staff.ID, Valid: true}
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO sign_in_attempts (at, account, address, shown, staff_id, status)
			VALUES (?, ?, ?, ?, ?, 'pending') RETURNING id`, formatTime(now), r.account, r.address, shown, staffID).Scan(&r.id); err != nil {
			return fmt.Errorf("leads: reserve sign-in: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// Authenticate checks an email and password sent from address (the
// client's IP). In order:
//
//  1. One write counts the attempt against the SignInLimits and reserves
//     it, or refuses with ETOOMANY (and when to retry), before any hashing.
//  2. The password is checked under the argon2id cap; without a slot
//     within HashWait the reservation is released and the answer is
//     EUNAVAILABLE.
//  3. A failure is recorded and audited; a success drops the reservation
//     and clears earlier failures of this account from this address.
//
// An unknown email and a wrong password both return ErrBadCredentials after
// one argon2id computation, and are throttled alike, so neither the answer,
// its time, nor the throttle tells them apart.
func (s *Store) Authenticate(ctx context.Context, email, password, address string) (*Staff, error) {
	if len(password) > 4*MaxPassword {
		password = password[:4*MaxPassword]
	}
	email = strings.TrimSpace(email)
	r, err := s.reserveSignIn(ctx, email, address)
	if err != nil {
		return nil, err
	}
	// The outcome is recorded even if the client has gone.
	after := context.WithoutCancel(ctx)
	ok, err := s.checkReserved(ctx, r, password)
	if err != nil {
		if code := ErrorCode(err); code == EUNAVAILABLE || ctx.Err() != nil {
			// Not checked: not counted.
			if rerr := s.dropAttempt(after, r.id); rerr != nil {
				return nil, rerr
			}
		}
		return nil, err
	}
	if !ok {
		actor := Actor{Kind: "unknown"}
		if r.staff.ID != 0 {
			actor = Actor{Kind: "staff", ID: r.staff.ID}
		}
		err := s.write(after, func(ctx context.Context, tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `UPDATE sign_in_attempts SET status = 'failed' WHERE id = ?`, r.id); err != nil {
				return fmt.Errorf("leads: record sign-in failure: %w", err)
			}
			return appendAudit(ctx, tx, s.now(), actor, AuditSignInFailed, "", "")
		})
		if err != nil {
			return nil, err
		}
		return nil, ErrBadCredentials
	}
	err = s.write(after, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sign_in_attempts WHERE id = ?`, r.id); err != nil {
			return fmt.Errorf("leads: record sign-in: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE sign_in_attempts SET status = 'cleared'
			WHERE account = ? AND address = ? AND status = 'failed'`, r.account, r.address); err != nil {
			return fmt.Errorf("leads: record sign-in: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	st := r.staff
	return &st, nil
}

// checkReserved checks the password of a reserved attempt under the cap,
// against the account's hash or, for an unknown account, the dummy.
func (s *Store) checkReserved(ctx context.Context, r *reservation, password string) (bool, error) {
	release, err := s.hashSlot(ctx)
	if err != nil {
		return false, err
	}
	defer release()
	if r.staff.ID == 0 {
		dummy, err := s.dummy()
		if err != nil {
			return false, err
		}
		_, _ = s.check(dummy, password)
		return false, nil
	}
	return s.check(r.hash, password)
}

func (s *Store) dropAttempt(ctx context.Context, id int64) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sign_in_attempts WHERE id = ?`, id); err != nil {
			return fmt.Errorf("leads: release sign-in: %w", err)
		}
		return nil
	})
}

// SignInFailures is what an account's owner is told about failed sign-ins
// at their account: how many since a time, and when and from where (a
// masked address) the last one came.
type SignInFailures struct {
	Count    int
	Last     time.Time
	LastFrom string
}

// SignInFailures returns the failed sign-ins at the account after since
// (at most SignInKeep back).
func (s *Store) SignInFailures(ctx context.Context, staffID int64, since time.Time) (SignInFailures, error) {
	var f SignInFailures
	const where = `staff_id = ? AND at > ? AND status IN ('failed', 'cleared')`
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM sign_in_attempts WHERE `+where, staffID, formatTime(since)).Scan(&f.Count); err != nil {
		return f, fmt.Errorf("leads: sign-in failures: %w", err)
	}
	if f.Count == 0 {
		return f, nil
	}
	var at string
	if err := s.r.QueryRowContext(ctx, `SELECT at, shown FROM sign_in_attempts WHERE `+where+` ORDER BY at DESC, id DESC LIMIT 1`,
		staffID, formatTime(since)).Scan(&at, &f.LastFrom); err != nil {
		return f, fmt.Errorf("leads: sign-in failures: %w", err)
	}
	var err error
	f.Last, err = parseTime(at)
	return f, err
}

// PurgeSignIns forgets what the throttle no longer needs: once an attempt
// leaves the window its full address is blanked, attempts at unknown
// accounts are deleted, and the masked rows kept for the notice go after
// SignInKeep. It returns how many attempts it deleted.
func (s *Store) PurgeSignIns(ctx context.Context) (int, error) {
	var n int64
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		now := s.now()
		cutoff := formatTime(now.Add(-s.signIn.Window))
		if _, err := tx.ExecContext(ctx, `DELETE FROM sign_in_keys WHERE touched_at <= ?`, cutoff); err != nil {
			return fmt.Errorf("leads: purge sign-ins: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM sign_in_attempts WHERE address <> '' AND at <= ? AND staff_id IS NULL`, cutoff)
		if err != nil {
			return fmt.Errorf("leads: purge sign-ins: %w", err)
		}
		n, _ = res.RowsAffected()
		if _, err := tx.ExecContext(ctx, `UPDATE sign_in_attempts SET address = '' WHERE address <> '' AND at <= ?`, cutoff); err != nil {
			return fmt.Errorf("leads: purge sign-ins: %w", err)
		}
		res, err = tx.ExecContext(ctx, `DELETE FROM sign_in_attempts WHERE address = '' AND at <= ?`, formatTime(now.Add(-SignInKeep)))
		if err != nil {
			return fmt.Errorf("leads: purge sign-ins: %w", err)
		}
		m, _ := res.RowsAffected()
		n += m
		return nil
	})
	return int(n), err
}
