package leads

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Attribution caps, in characters.
const (
	MaxAttribArticle = 100
	MaxAttribPath    = 300
	MaxAttribUTM     = 100
)

// SourceDirect is the source of a visit with neither a utm_source nor an
// external referrer.
const SourceDirect = "direct"

// Attribution is where the visit that made a lead or a booking came from,
// first touch: the article the form was on (or the one the visit landed
// on), the landing page's path, the external referrer and the utm_*
// parameters of the landing page. Every field may be empty.
type Attribution struct {
	Article     string `json:"article"`
	LandingPage string `json:"landing_page"`
	Referrer    string `json:"referrer"`
	UTMSource   string `json:"utm_source"`
	UTMMedium   string `json:"utm_medium"`
	UTMCampaign string `json:"utm_campaign"`
	UTMTerm     string `json:"utm_term"`
	UTMContent  string `json:"utm_content"`
}

// Normalize makes every field one clean line (see SingleLine) within its
// cap, the landing page a site path without query, and the referrer an
// http(s) URL of scheme, host and path only: its query string and fragment
// are dropped, as they can carry search terms, addresses or tokens. A
// referrer that is not such a URL is dropped.
func (a *Attribution) Normalize() {
	a.Article = capRunes(SingleLine(a.Article), MaxAttribArticle)
	a.LandingPage = capRunes(cleanPath(SingleLine(a.LandingPage)), MaxAttribPath)
	a.Referrer = capRunes(CleanReferrer(a.Referrer), MaxAttribPath)
	for _, f := range []*string{&a.UTMSource, &a.UTMMedium, &a.UTMCampaign, &a.UTMTerm, &a.UTMContent} {
		*f = capRunes(SingleLine(*f), MaxAttribUTM)
	}
}

// Empty reports whether a holds nothing.
func (a Attribution) Empty() bool { return a == Attribution{} }

// Source is the source the analytics group a by: utm_source in lower
// case, else the referrer's host (without "www."), else SourceDirect.
func (a Attribution) Source() string {
	if s := strings.ToLower(a.UTMSource); s != "" {
		return s
	}
	if u, err := url.Parse(a.Referrer); err == nil && u.Hostname() != "" {
		return strings.TrimPrefix(strings.ToLower(u.Hostname()), "www.")
	}
	return SourceDirect
}

// ArticleKey is the article the analytics count a under: Article, else the
// article of the landing page, else "".
func (a Attribution) ArticleKey() string {
	if a.Article != "" {
		return a.Article
	}
	if slug, ok := strings.CutPrefix(a.LandingPage, "/articles/"); ok && slug != "" && !strings.Contains(slug, "/") {
		return slug
	}
	return ""
}

// CleanReferrer returns ref as scheme://host/path when it is an absolute
// http or https URL, and "" otherwise; user info, query and fragment go.
func CleanReferrer(ref string) string {
	ref = SingleLine(ref)
	if ref == "" || len(ref) > 2048 {
		return ""
	}
	u, err := url.Parse(ref)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(u.Host, " \"<>\\") {
		return ""
	}
	out := url.URL{Scheme: u.Scheme, Host: strings.ToLower(u.Host), Path: u.Path}
	return out.String()
}

// cleanPath keeps an absolute site path, without its query or fragment.
func cleanPath(p string) string {
	if i := strings.IndexAny(p, "?#"); i >= 0 {
		p = p[:i]
	}
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, " \"<>\\") {
		return ""
	}
	return p
}

func capRunes(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:max]))
}

// attribColumns are the attribution columns of leads and bookings, in the
// order of Attribution's fields.
const attribColumns = `article, landing_page, referrer, utm_source, utm_medium, utm_campaign, utm_term, utm_content`

// args are a's values in attribColumns' order.
func (a *Attribution) args() []any {
	return []any{a.Article, a.LandingPage, a.Referrer, a.UTMSource, a.UTMMedium, a.UTMCampaign, a.UTMTerm, a.UTMContent}
}

// dest are the scan destinations of attribColumns.
func (a *Attribution) dest() []any {
	return []any{&a.Article, &a.LandingPage, &a.Referrer, &a.UTMSource, &a.UTMMedium, &a.UTMCampaign, &a.UTMTerm, &a.UTMContent}
}

// statDay is the article_stats day of t.
func statDay(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// addConversion counts a new lead (column "leads") or booking ("bookings")
// under a's article and source for today, when a names an article.
func addConversion(ctx context.Context, tx *sql.Tx, now time.Time, a Attribution, column string) error {
	art := a.ArticleKey()
	if art == "" {
		return nil
	}
	return addConversions(ctx, tx, now, art, a.Source(), column, 1)
}

// addConversionsOf counts the new leads or bookings of as, one upsert per
// article and source, in one order, so that concurrent batches wait for
// each other rather than deadlock.
func addConversionsOf(ctx context.Context, tx *sql.Tx, now time.Time, as []Attribution, column string) error {
	counts := map[[2]string]int{}
	for _, a := range as {
		if art := a.ArticleKey(); art != "" {
			counts[[2]string{art, a.Source()}]++
		}
	}
	keys := slices.SortedFunc(maps.Keys(counts), func(a, b [2]string) int {
		if c := cmp.Compare(a[0], b[0]); c != 0 {
			return c
		}
		return cmp.Compare(a[1], b[1])
	})
	for _, k := range keys {
		if err := addConversions(ctx, tx, now, k[0], k[1], column, counts[k]); err != nil {
			return err
		}
	}
	return nil
}

// addConversions counts n new leads or bookings under article and source
// for today.
func addConversions(ctx context.Context, tx *sql.Tx, now time.Time, article, source, column string, n int) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO article_stats (day, article, source, `+column+`) VALUES (?, ?, ?, ?)
		ON CONFLICT (day, article, source) DO UPDATE SET `+column+` = article_stats.`+column+` + excluded.`+column,
		statDay(now), article, source, n)
	if err != nil {
		return fmt.Errorf("leads: count %s: %w", column, err)
	}
	return nil
}

// ViewKey is what an article view is counted under.
type ViewKey struct {
	Day     string // YYYY-MM-DD, UTC
	Article string
	Source  string
}

// NewViewKey is the key of a view of article from source at t.
func NewViewKey(t time.Time, article, source string) ViewKey {
	return ViewKey{Day: statDay(t), Article: article, Source: source}
}

// AddViews adds counts to the stored article views in one transaction.
// Each row is an upsert that adds, so several instances flushing at once
// sum correctly on both engines.
func (s *Store) AddViews(ctx context.Context, counts map[ViewKey]int64) error {
	if len(counts) == 0 {
		return nil
	}
	keys := make([]ViewKey, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	// One order for every instance, so two flushes never wait on each
	// other's rows in opposite orders.
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Day != b.Day {
			return a.Day < b.Day
		}
		if a.Article != b.Article {
			return a.Article < b.Article
		}
		return a.Source < b.Source
	})
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		for _, k := range keys {
			if _, err := tx.ExecContext(ctx, `INSERT INTO article_stats (day, article, source, views) VALUES (?, ?, ?, ?)
				ON CONFLICT (day, article, source) DO UPDATE SET views = article_stats.views + excluded.views`,
				k.Day, capRunes(k.Article, MaxAttribArticle), capRunes(k.Source, MaxAttribUTM), counts[k]); err != nil {
				return fmt.Errorf("leads: add views: %w", err)
			}
		}
		return nil
	})
}

// StatsRow is one article (or one source) over a period.
type StatsRow struct {
	Name     string
	Views    int64
	Leads    int64
	Bookings int64
}

// Conversion is (leads + bookings) per view, or 0 without views.
func (r StatsRow) Conversion() float64 {
	if r.Views == 0 {
		return 0
	}
	return float64(r.Leads+r.Bookings) / float64(r.Views)
}

// StatsDay is one day's totals.
type StatsDay struct {
	Day                    string
	Views, Leads, Bookings int64
}

// Stats are the article analytics over a period.
type Stats struct {
	From, To   string // YYYY-MM-DD, inclusive
	Articles   []StatsRow
	Sources    []StatsRow
	Days       []StatsDay // every day of the period, oldest first
	Total      StatsRow
	Incomplete bool // the period was longer than MaxStatsDays and was cut
}

// MaxStatsDays bounds a period's days.
const MaxStatsDays = 731

// ArticleStats sums the article analytics from from to to (UTC days,
// inclusive) per article, per source and per day.
func (s *Store) ArticleStats(ctx context.Context, from, to time.Time) (*Stats, error) {
	from, to = from.UTC().Truncate(24*time.Hour), to.UTC().Truncate(24*time.Hour)
	if to.Before(from) {
		from, to = to, from
	}
	st := &Stats{}
	if to.Sub(from) > (MaxStatsDays-1)*24*time.Hour {
		from, st.Incomplete = to.Add(-(MaxStatsDays-1)*24*time.Hour), true
	}
	st.From, st.To = statDay(from), statDay(to)
	group := func(col string) ([]StatsRow, error) {
		rows, err := s.r.QueryContext(ctx, `SELECT `+col+`, SUM(views), SUM(leads), SUM(bookings) FROM article_stats
			WHERE day >= ? AND day <= ? GROUP BY `+col+` ORDER BY SUM(views) DESC, `+col+s.d.byteOrder, st.From, st.To)
		if err != nil {
			return nil, fmt.Errorf("leads: article stats: %w", err)
		}
		defer rows.Close()
		out := []StatsRow{}
		for rows.Next() {
			var r StatsRow
			if err := rows.Scan(&r.Name, &r.Views, &r.Leads, &r.Bookings); err != nil {
				return nil, fmt.Errorf("leads: article stats: %w", err)
			}
			out = append(out, r)
		}
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("leads: article stats: %w", err)
		}
		return out, nil
	}
	var err error
	if st.Articles, err = group("article"); err != nil {
		return nil, err
	}
	if st.Sources, err = group("source"); err != nil {
		return nil, err
	}
	days, err := group("day")
	if err != nil {
		return nil, err
	}
	byDay := map[string]StatsRow{}
	for _, d := range days {
		byDay[d.Name] = d
		st.Total.Views += d.Views
		st.Total.Leads += d.Leads
		st.Total.Bookings += d.Bookings
	}
	for d := from; !d.After(to); d = d.Add(24 * time.Hour) {
		r := byDay[statDay(d)]
		st.Days = append(st.Days, StatsDay{Day: statDay(d), Views: r.Views, Leads: r.Leads, Bookings: r.Bookings})
	}
	return st, nil
}
