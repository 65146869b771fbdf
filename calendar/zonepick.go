package calendar

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// CanonicalZone returns the name in use for an IANA zone name or one of its
// old or alternative names (Asia/Calcutta is Asia/Kolkata, US/Eastern is
// America/New_York), and false for a name the database does not know.
func CanonicalZone(name string) (string, bool) {
	if name == "UTC" || name == "Etc/UTC" {
		return "UTC", true
	}
	if _, ok := zoneCountry()[name]; ok {
		return name, true
	}
	if to, ok := zoneLinks[name]; ok {
		return to, true
	}
	if loadIANA(name) != nil {
		return name, true
	}
	return "", false
}

// ZoneChoice is one entry of the time-zone picker.
type ZoneChoice struct {
	Name string // IANA name in use
	// Label is the offset now and a friendly name:
	// "UTC−05:00 · Eastern Time, New York".
	Label string
	// Search holds other words a visitor may type: the IANA name, the
	// country, old names.
	Search string
	offset int
}

// ZoneGroup is the zones of one region, sorted by offset, then label.
type ZoneGroup struct {
	Region string
	Zones  []ZoneChoice
}

var (
	zoneOnce    sync.Once
	zoneLocs    map[string]*time.Location
	zoneCountry = sync.OnceValue(func() map[string]string {
		m := make(map[string]string, len(zoneTab))
		for _, z := range zoneTab {
			m[z[0]] = z[1]
		}
		return m
	})
	zoneOldNames = sync.OnceValue(func() map[string][]string {
		m := map[string][]string{}
		for from, to := range zoneLinks {
			m[to] = append(m[to], from)
		}
		for _, v := range m {
			slices.Sort(v)
		}
		return m
	})
)

func loadZones() {
	zoneOnce.Do(func() {
		zoneLocs = make(map[string]*time.Location, len(zoneTab)+1)
		for _, z := range zoneTab {
			if loc, err := LoadZone(z[0]); err == nil {
				zoneLocs[z[0]] = loc
			}
		}
		zoneLocs["UTC"] = time.UTC
	})
}

// zoneGroupsCache is the last list ZoneGroups built, with the span of
// time in which no offered zone changes its offset (so the labels hold).
var zoneGroupsCache atomic.Pointer[zoneGroupsAt]

type zoneGroupsAt struct {
	from, until time.Time // every zone keeps its offset in [from, until)
	groups      []ZoneGroup
}

// ZoneGroups lists every zone a visitor may pick, grouped by region, each
// labelled with its offset at now. Every booking page shows the list, so
// it is built again only when some zone's offset has changed since (a
// daylight-saving change somewhere); callers must not modify it.
func ZoneGroups(now time.Time) []ZoneGroup {
	if c := zoneGroupsCache.Load(); c != nil && !now.Before(c.from) && now.Before(c.until) {
		return c.groups
	}
	c := buildZoneGroups(now)
	zoneGroupsCache.Store(c)
	return c.groups
}

func buildZoneGroups(now time.Time) *zoneGroupsAt {
	loadZones()
	c := &zoneGroupsAt{}
	byRegion := map[string][]ZoneChoice{}
	for name, loc := range zoneLocs {
		region, _, _ := strings.Cut(name, "/")
		if name == "UTC" {
			region = "UTC"
		}
		start, end := now.In(loc).ZoneBounds()
		if !start.IsZero() && (c.from.IsZero() || start.After(c.from)) {
			c.from = start
		}
		if !end.IsZero() && (c.until.IsZero() || end.Before(c.until)) {
			c.until = end
		}
		_, off := now.In(loc).Zone()
		words := append([]string{name, zoneCountry()[name]}, zoneOldNames()[name]...)
		byRegion[region] = append(byRegion[region], ZoneChoice{
			Name: name, Label: FormatOffset(off) + " · " + ZoneName(name), offset: off,
			Search: strings.ReplaceAll(strings.Join(words, " "), "_", " "),
		})
	}
	groups := make([]ZoneGroup, 0, len(byRegion))
	for r, zs := range byRegion {
		slices.SortFunc(zs, func(a, b ZoneChoice) int {
			return cmp.Or(cmp.Compare(a.offset, b.offset), strings.Compare(a.Label, b.Label))
		})
		groups = append(groups, ZoneGroup{Region: r, Zones: zs})
	}
	slices.SortFunc(groups, func(a, b ZoneGroup) int { return strings.Compare(a.Region, b.Region) })
	c.groups = groups
	if c.until.IsZero() { // no zone ever changes again: valid for a day
		c.until = now.Add(24 * time.Hour)
	}
	if c.from.IsZero() {
		c.from = now
	}
	return c
}

// FormatOffset writes an offset east of UTC as "UTC+05:30" or "UTC−05:00"
// (with a minus sign, which no browser or mail client breaks a line at).
func FormatOffset(seconds int) string {
	sign := "+"
	if seconds < 0 {
		sign, seconds = "\u2212", -seconds
	}
	return fmt.Sprintf("UTC%s%02d:%02d", sign, seconds/3600, seconds/60%60)
}

// ZoneName is a zone's friendly name: the time's common name and the city
// ("Eastern Time, New York"), or the city and its country ("Kathmandu,
// Nepal"). An unknown name is returned as it is.
func ZoneName(name string) string {
	if name == "UTC" {
		return "Coordinated Universal Time"
	}
	canon, ok := CanonicalZone(name)
	if !ok {
		return name
	}
	city := canon[strings.LastIndexByte(canon, '/')+1:]
	city = strings.ReplaceAll(city, "_", " ")
	if mz, ok := metazones[canon]; ok {
		return mz + ", " + city
	}
	if c := zoneCountry()[canon]; c != "" && c != city {
		return city + ", " + c
	}
	return city
}

// metazones are the common names of the times most visitors know, after
// CLDR's generic metazone names.
var metazones = func() map[string]string {
	m := map[string]string{}
	add := func(name, zones string) {
		for z := range strings.FieldsSeq(zones) {
			m[z] = name
		}
	}
	add("Eastern Time", `America/New_York America/Detroit America/Toronto America/Nassau America/Iqaluit
		America/Kentucky/Louisville America/Kentucky/Monticello America/Indiana/Indianapolis America/Indiana/Vincennes
		America/Indiana/Winamac America/Indiana/Marengo America/Indiana/Petersburg America/Indiana/Vevay
		America/Port-au-Prince America/Grand_Turk America/Cancun America/Panama America/Jamaica America/Cayman`)
	add("Central Time", `America/Chicago America/Winnipeg America/Indiana/Knox America/Indiana/Tell_City America/Menominee
		America/North_Dakota/Center America/North_Dakota/New_Salem America/North_Dakota/Beulah America/Rankin_Inlet
		America/Resolute America/Matamoros America/Mexico_City America/Monterrey America/Merida America/Bahia_Banderas
		America/Regina America/Swift_Current America/Belize America/Costa_Rica America/El_Salvador America/Guatemala
		America/Tegucigalpa America/Managua America/Chihuahua America/Ojinaga`)
	add("Mountain Time", `America/Denver America/Boise America/Edmonton America/Cambridge_Bay America/Inuvik
		America/Phoenix America/Ciudad_Juarez America/Mazatlan America/Hermosillo America/Dawson_Creek
		America/Fort_Nelson America/Creston America/Whitehorse America/Dawson`)
	add("Pacific Time", `America/Los_Angeles America/Vancouver America/Tijuana`)
	add("Alaska Time", `America/Anchorage America/Juneau America/Sitka America/Nome America/Yakutat America/Metlakatla`)
	add("Hawaii-Aleutian Time", `Pacific/Honolulu America/Adak`)
	add("Atlantic Time", `America/Halifax America/Glace_Bay America/Moncton America/Goose_Bay Atlantic/Bermuda
		America/Thule America/Puerto_Rico America/Santo_Domingo America/Barbados America/Martinique`)
	add("Newfoundland Time", `America/St_Johns`)
	add("Central European Time", `Europe/Berlin Europe/Paris Europe/Amsterdam Europe/Brussels Europe/Madrid Europe/Rome
		Europe/Vienna Europe/Zurich Europe/Stockholm Europe/Oslo Europe/Copenhagen Europe/Prague Europe/Warsaw
		Europe/Budapest Europe/Belgrade Europe/Luxembourg Europe/Monaco Europe/Malta Europe/Andorra Europe/Gibraltar
		Europe/Tirane Europe/Zagreb Europe/Ljubljana Europe/Sarajevo Europe/Skopje Europe/Podgorica Europe/Bratislava
		Europe/Vaduz Europe/San_Marino Europe/Vatican Europe/Busingen Africa/Ceuta Africa/Tunis Africa/Algiers Arctic/Longyearbyen`)
	add("Eastern European Time", `Europe/Athens Europe/Bucharest Europe/Helsinki Europe/Kyiv Europe/Riga Europe/Sofia
		Europe/Tallinn Europe/Vilnius Europe/Chisinau Europe/Kaliningrad Europe/Mariehamn Asia/Nicosia Asia/Famagusta
		Asia/Beirut Africa/Cairo Africa/Tripoli`)
	add("Western European Time", `Europe/Lisbon Atlantic/Canary Atlantic/Madeira Atlantic/Faroe`)
	add("UK Time", `Europe/London Europe/Guernsey Europe/Isle_of_Man Europe/Jersey`)
	add("Irish Time", `Europe/Dublin`)
	add("Moscow Time", `Europe/Moscow Europe/Simferopol Europe/Kirov Europe/Volgograd Europe/Minsk`)
	add("India Standard Time", `Asia/Kolkata`)
	add("China Time", `Asia/Shanghai Asia/Urumqi`)
	add("Japan Time", `Asia/Tokyo`)
	add("Korean Time", `Asia/Seoul`)
	add("Singapore Time", `Asia/Singapore`)
	add("Hong Kong Time", `Asia/Hong_Kong`)
	add("Gulf Time", `Asia/Dubai Asia/Muscat`)
	add("Israel Time", `Asia/Jerusalem`)
	add("Pakistan Time", `Asia/Karachi`)
	add("Bangladesh Time", `Asia/Dhaka`)
	add("Nepal Time", `Asia/Kathmandu`)
	add("Myanmar Time", `Asia/Yangon`)
	add("Indochina Time", `Asia/Bangkok Asia/Ho_Chi_Minh Asia/Phnom_Penh Asia/Vientiane`)
	add("Western Indonesia Time", `Asia/Jakarta Asia/Pontianak`)
	add("Philippine Time", `Asia/Manila`)
	add("Australian Eastern Time", `Australia/Sydney Australia/Melbourne Australia/Hobart Australia/Brisbane
		Australia/Lindeman Antarctica/Macquarie`)
	add("Australian Central Time", `Australia/Adelaide Australia/Broken_Hill Australia/Darwin`)
	add("Australian Western Time", `Australia/Perth`)
	add("New Zealand Time", `Pacific/Auckland Antarctica/McMurdo`)
	add("Brasilia Time", `America/Sao_Paulo America/Bahia America/Fortaleza America/Recife America/Belem America/Maceio
		America/Araguaina America/Santarem`)
	add("Argentina Time", `America/Argentina/Buenos_Aires America/Argentina/Cordoba America/Argentina/Salta
		America/Argentina/Jujuy America/Argentina/Tucuman America/Argentina/Catamarca America/Argentina/La_Rioja
		America/Argentina/San_Juan America/Argentina/Mendoza America/Argentina/San_Luis America/Argentina/Rio_Gallegos
		America/Argentina/Ushuaia`)
	add("South Africa Time", `Africa/Johannesburg Africa/Maseru Africa/Mbabane`)
	add("West Africa Time", `Africa/Lagos Africa/Kinshasa Africa/Luanda Africa/Douala Africa/Libreville Africa/Malabo
		Africa/Niamey Africa/Porto-Novo Africa/Bangui Africa/Brazzaville Africa/Ndjamena`)
	add("East Africa Time", `Africa/Nairobi Africa/Addis_Ababa Africa/Dar_es_Salaam Africa/Kampala Africa/Mogadishu
		Africa/Djibouti Africa/Asmara Indian/Antananarivo Indian/Comoro Indian/Mayotte`)
	add("Greenwich Mean Time", `Africa/Abidjan Africa/Accra Africa/Dakar Africa/Bamako Africa/Banjul Africa/Bissau
		Africa/Conakry Africa/Freetown Africa/Lome Africa/Monrovia Africa/Nouakchott Africa/Ouagadougou Atlantic/Reykjavik
		Atlantic/St_Helena`)
	return m
}()
